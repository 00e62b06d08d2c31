import Foundation
import Logging
import NIOCore
import PostgresNIO
import Testing
import TidemarkRawLog
import TidemarkTestSupport

@Suite struct StorageFailureTests {
    /// When PostgreSQL refuses one request's events, requests that shared its transaction
    /// are written again on their own and land; only the culprit is refused, with nothing stored.
    @Test func aRefusedRequestDoesNotTakeItsBatchDown() async throws {
        try await TestServer.run { server in
            // A trigger stands in for any statement error the validator could not foresee.
            try await server.database.query(
                """
                CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.id LIKE 'poison%' THEN RAISE EXCEPTION 'poisoned event %', NEW.id; END IF;
                    RETURN NEW;
                END $$
                """, logger: TestServer.quietLogger)
            try await server.database.query(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
                logger: TestServer.quietLogger)

            let statuses = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for request in 0..<40 {
                    group.addTask {
                        let prefix = request == 7 ? "poison" : "fine"
                        let body = Sample.ndjson((0..<5).map { Sample.saleJSON(id: "\(prefix)-\(request)-\($0)") })
                        let answer = try await server.http.post("/v1/events", text: body, contentType: "application/x-ndjson")
                        return (prefix, answer.status)
                    }
                }
                return try await group.reduce(into: [(String, Int)]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == "fine" }.allSatisfy { $0.1 == 200 })
            #expect(statuses.filter { $0.0 == "poison" }.map(\.1) == [500])
            #expect(try await server.eventCount() == 39 * 5)
            #expect(try await server.database.scalar("SELECT count(*)::bigint FROM events WHERE id LIKE 'poison%'") == 0)
        }
    }

    /// SIGTERM during a load: the server stops admitting, answers what it admitted, and exits 0;
    /// every acknowledged event is stored.
    @Test func sigtermFinishesInFlightIngestsAndExitsCleanly() async throws {
        try await TestDatabase.withFreshDatabase { url, database in
            let server = try await ServerProcess.start(databaseURL: url.urlString)
            let http = HTTPTestClient(baseURL: server.baseURL)
            let acknowledged = Locked<Set<String>>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        var batch = 0
                        while true {
                            let ids = (0..<50).map { "t-\(client)-\(batch)-\($0)" }
                            batch += 1
                            let body = Sample.ndjson(ids.map { Sample.saleJSON(id: $0) })
                            guard
                                let answer = try? await http.post("/v1/events", text: body, contentType: "application/x-ndjson", timeout: .seconds(3))
                            else {
                                return
                            }
                            guard answer.status == 200 else {
                                #expect(answer.status == 503, "a stopping server refuses with 503, got \(answer.status)")
                                return
                            }
                            acknowledged.withLock { $0.formUnion(ids) }
                        }
                    }
                }
                try await waitUntil("1,000 events are acknowledged") { acknowledged.withLock { $0.count } >= 1_000 }
                #expect(try await server.terminate() == 0)
                try await group.waitForAll()
            }
            let acked = acknowledged.value
            #expect(try await database.scalar("SELECT count(*)::bigint FROM events WHERE id = ANY(\(Array(acked)))") == acked.count)
        }
    }
}
