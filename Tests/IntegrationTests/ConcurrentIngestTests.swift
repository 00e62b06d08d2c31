import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing
import TidemarkTestSupport

@Suite struct ConcurrentIngestTests {
    /// 200 clients post overlapping ids at once. Every id must be stored exactly once, the
    /// accepted counts must add up to the distinct ids, and `seq` must follow commit order: a
    /// reader tailing the log by `seq > last seen` (as the speed layer does) must see every row.
    @Test func twoHundredClientsWithOverlappingIds() async throws {
        try await TestServer.run { server in
            let clients = 200
            let eventsPerClient = 20
            let idSpace = 1_500  // clients share ids, so many ids arrive from several clients at once
            let tailed = Locked<[Int64]>([])
            let done = Locked(false)

            let totals = try await withThrowingTaskGroup(of: (accepted: Int, duplicates: Int, ids: Set<Int>).self) { group in
                group.addTask {
                    // The tailer: reads only rows above the highest seq it has seen.
                    var last: Int64 = 0
                    while true {
                        let finished = done.value
                        let rows = try await server.database.query(
                            "SELECT seq FROM events WHERE seq > \(last) ORDER BY seq", logger: TestServer.quietLogger)
                        var batch: [Int64] = []
                        for try await seq in rows.decode(Int64.self) { batch.append(seq) }
                        if let highest = batch.last { last = highest }
                        tailed.withLock { $0.append(contentsOf: batch) }
                        if finished { return (0, 0, []) }
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
                var results: [(Int, Int, Set<Int>)] = []
                try await withThrowingTaskGroup(of: (accepted: Int, duplicates: Int, ids: Set<Int>).self) { posting in
                    for client in 0..<clients {
                        posting.addTask {
                            var generator = SystemRandomNumberGenerator()
                            let ids = (0..<eventsPerClient).map { _ in Int.random(in: 0..<idSpace, using: &generator) }
                            let body = Sample.ndjson(ids.map { Sample.saleJSON(id: "c-\($0)") })
                            let answer = try await server.http.post("/v1/events", text: body, contentType: "application/x-ndjson")
                            #expect(answer.status == 200, "client \(client): \(answer.text)")
                            return (answer.json["accepted"] as? Int ?? -1, answer.json["duplicates"] as? Int ?? -1, Set(ids))
                        }
                    }
                    for try await result in posting { results.append(result) }
                }
                done.withLock { $0 = true }
                for try await _ in group {}
                #expect(results.count == clients, "every client got an answer")
                return results
            }

            let distinct = totals.reduce(into: Set<Int>()) { $0.formUnion($1.2) }
            let accepted = totals.reduce(0) { $0 + $1.0 }
            let duplicates = totals.reduce(0) { $0 + $1.1 }
            #expect(accepted == distinct.count)
            #expect(accepted + duplicates == clients * eventsPerClient)
            #expect(try await server.eventCount() == distinct.count)
            #expect(try await server.database.scalar("SELECT count(DISTINCT id)::bigint FROM events") == distinct.count)

            var stored: [Int64] = []
            for try await seq in try await server.database.query("SELECT seq FROM events ORDER BY seq", logger: TestServer.quietLogger).decode(
                Int64.self)
            {
                stored.append(seq)
            }
            let seen = tailed.withLock { $0 }
            #expect(seen == stored, "the tailer missed \(Set(stored).subtracting(seen).count) rows: a lower seq committed after a higher one")
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 })
        }
    }
}
