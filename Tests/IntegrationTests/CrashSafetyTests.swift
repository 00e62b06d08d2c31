import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import Testing
import TidemarkRawLog
import TidemarkTestSupport

@Suite struct CrashSafetyTests {
    /// Clients post batches of new ids while the server is killed with SIGKILL. Every batch the
    /// server acknowledged must be in the raw log, each id once; after a restart, posting every
    /// batch again (as clients retry) stores each attempted id exactly once.
    @Test func sigkillDuringLoadLosesNoAcknowledgedEvent() async throws {
        try await TestDatabase.withFreshDatabase { url, database in
            let server = try await ServerProcess.start(databaseURL: url.urlString)
            let http = HTTPTestClient(baseURL: server.baseURL)
            let acknowledged = Locked<Set<String>>([])
            let attempted = Locked<[[String]]>([])
            let clients = 16

            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var batch = 0
                        while true {
                            let ids = (0..<50).map { "k-\(client)-\(batch)-\($0)" }
                            batch += 1
                            attempted.withLock { $0.append(ids) }
                            let body = Sample.ndjson(ids.map { Sample.saleJSON(id: $0) })
                            guard
                                let answer = try? await http.post(
                                    "/v1/events", text: body, contentType: "application/x-ndjson", timeout: .seconds(3)),
                                answer.status == 200
                            else { return }  // the server is gone
                            #expect(answer.json["accepted"] as? Int == 50)
                            acknowledged.withLock { $0.formUnion(ids) }
                        }
                    }
                }
                // Let the load run, then kill the server in the middle of it.
                try await waitUntil("2,000 events are acknowledged") { acknowledged.withLock { $0.count } >= 2_000 }
                let status = try await server.kill()
                #expect(status == 128 + SIGKILL)
                try await group.waitForAll()
            }

            let acked = acknowledged.withLock { $0 }
            #expect(acked.count >= 2_000)
            let storedAcked = try await database.scalar("SELECT count(*)::bigint FROM events WHERE id = ANY(\(Array(acked)))")
            #expect(storedAcked == acked.count, "acknowledged events lost by the crash")

            // Restart and retry everything, as clients do after a timeout.
            let restarted = try await ServerProcess.start(databaseURL: url.urlString)
            let retry = HTTPTestClient(baseURL: restarted.baseURL)
            var accepted = 0
            var duplicates = 0
            for ids in attempted.withLock({ $0 }) {
                let answer = try await retry.post(
                    "/v1/events", text: Sample.ndjson(ids.map { Sample.saleJSON(id: $0) }), contentType: "application/x-ndjson")
                #expect(answer.status == 200)
                accepted += answer.json["accepted"] as? Int ?? 0
                duplicates += answer.json["duplicates"] as? Int ?? 0
            }
            #expect(try await restarted.terminate() == 0)
            let allIDs = Set(attempted.withLock { $0 }.flatMap { $0 })
            #expect(duplicates >= acked.count)
            #expect(try await database.scalar("SELECT count(*)::bigint FROM events") == allIDs.count)
            #expect(try await database.scalar("SELECT count(DISTINCT id)::bigint FROM events") == allIDs.count)
            #expect(accepted + duplicates == allIDs.count)
        }
    }
}
