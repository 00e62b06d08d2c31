import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing
import TidemarkEmbeddedPostgres
import TidemarkEvents
import TidemarkGenerator
import TidemarkPipelines
import TidemarkRawLog
import TidemarkTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Faults an operator will meet: the server killed mid-load, PostgreSQL gone for a while.
/// Each test drives a real `tidemark serve` process and stops by itself.
@Suite struct LifecycleFaultTests {
    /// Generated retail days, cut into NDJSON bodies of `eventsPerBody` events (with the
    /// generator's own late and repeated events).
    static func bodies(days: Int, eventsPerDay: Int, eventsPerBody: Int = 100) throws -> [Data] {
        var configuration = GeneratorConfiguration(firstDay: try Timestamp(rfc3339: "2026-11-18T00:00:00Z"))
        configuration.days = days
        configuration.eventsPerDay = eventsPerDay
        configuration.stores = 4
        configuration.products = 80
        configuration.seed = 42
        var generator = RetailGenerator(configuration: configuration)
        var events: [Event] = []
        while let day = generator.nextDay() { events += day }
        return try stride(from: 0, to: events.count, by: eventsPerBody).map {
            try Event.ndjson(events[$0..<min($0 + eventsPerBody, events.count)])
        }
    }

    /// One client: takes the next body until none is left or the server stops answering 200.
    /// Its timeout is above the server's write timeout (10 s): the server answers first.
    /// With a `gate`, bodies from that index on wait (at most two minutes) until it is raised.
    /// - Returns: the statuses of the answers that were not 200, with their Retry-After.
    @discardableResult
    static func postUntilRefused(
        _ bodies: [Data], next: Locked<Int>, acknowledged: Locked<Set<Int>>, http: HTTPTestClient, stopOnRefusal: Bool = true,
        pause: Duration = .zero, gate: Locked<Int>? = nil
    ) async -> [(status: Int, retryAfter: String?)] {
        var refusals: [(Int, String?)] = []
        while let index = next.withLock({ index -> Int? in
            defer { index += 1 }
            return index < bodies.count ? index : nil
        }) {
            if let gate {
                let deadline = ContinuousClock.now + .seconds(120)
                while index >= gate.value, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
            }
            let answer = try? await http.post(
                "/v1/events", body: ByteBuffer(bytes: bodies[index]), contentType: "application/x-ndjson", timeout: .seconds(15))
            if let answer, answer.status == 200 {
                acknowledged.withLock { _ = $0.insert(index) }
                if pause > .zero { try? await Task.sleep(for: pause) }
                continue
            }
            refusals.append((answer?.status ?? 0, answer?.headers.first(name: "Retry-After")))
            if stopOnRefusal { return refusals }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return refusals
    }

    static func ids(of bodies: some Sequence<Data>) -> [String] {
        bodies.flatMap { body in
            body.split(separator: UInt8(ascii: "\n")).compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])?["id"] as? String
            }
        }
    }

    /// SIGKILL during a concurrent load, with a batch published mid-way: every acknowledged id
    /// is stored once, and after a restart (and the clients' retries) the merged views equal a
    /// recomputation over the raw log, before and after a `--full` batch.
    @Test func sigkillDuringLoadThenRestartServesAFullRecomputation() async throws {
        let catalog = try ShippedPipelines.catalog()
        let bodies = try Self.bodies(days: 2, eventsPerDay: 5_000)
        try await TestDatabase.withFreshDatabase { url, database in
            let first = try await ServerProcess.start(databaseURL: url.urlString)
            let next = Locked(0)
            let acknowledged = Locked<Set<Int>>([])
            // The clients post at most half the bodies until the kill is due, so the kill comes
            // during the load however fast the server takes it.
            let gate = Locked(bodies.count / 2)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        await Self.postUntilRefused(
                            bodies, next: next, acknowledged: acknowledged, http: HTTPTestClient(baseURL: first.baseURL), gate: gate)
                    }
                }
                try await waitUntil("a fifth of the bodies are acknowledged") { acknowledged.value.count >= bodies.count / 5 }
                let batch = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: url.urlString))
                #expect(batch.status == 0, "\(batch.output)")
                try await waitUntil("two fifths of the bodies are acknowledged") { acknowledged.value.count >= bodies.count * 2 / 5 }
                gate.withLock { $0 = bodies.count }
                #expect(try await first.kill() == 128 + SIGKILL)
                try await group.waitForAll()
            }
            let acked = acknowledged.value
            #expect(acked.count < bodies.count, "the kill came before the load ended")
            let ackedIDs = Array(Set(Self.ids(of: acked.map { bodies[$0] })))
            #expect(try await database.scalar("SELECT count(*)::bigint FROM events WHERE id = ANY(\(ackedIDs))") == ackedIDs.count)

            // Restart; clients post again everything they were not told was stored.
            let second = try await ServerProcess.start(databaseURL: url.urlString)
            let http = HTTPTestClient(baseURL: second.baseURL)
            for index in bodies.indices where !acked.contains(index) {
                let answer = try await http.post("/v1/events", body: ByteBuffer(bytes: bodies[index]), contentType: "application/x-ndjson")
                #expect(answer.status == 200, "\(answer.text)")
            }
            let allIDs = Set(Self.ids(of: bodies))
            #expect(try await database.scalar("SELECT count(*)::bigint FROM events") == allIDs.count)
            #expect(try await database.scalar("SELECT count(DISTINCT id)::bigint FROM events") == allIDs.count)

            let server = TestServer(http: http, database: database, databaseURL: url)
            let watermark = Int64(try await database.scalar("SELECT watermark FROM tidemark_batch_runs WHERE status = 'succeeded'"))
            #expect(watermark > 0)
            let merged = try await LambdaEndToEndTests.waitUntilExact(server, catalog, watermark: watermark)
            #expect(merged.values.contains { $0.speedEvents > 0 }, "the answers merged batch and speed")

            let full = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: url.urlString, ["--full"]))
            #expect(full.status == 0, "\(full.output)")
            let top = Int64(try await database.scalar("SELECT max(seq) FROM events"))
            let recomputed = try await LambdaEndToEndTests.waitUntilExact(server, catalog, watermark: top)
            for (view, answer) in recomputed { #expect(answer.rows == merged[view]?.rows, "\(view)") }
            #expect(try await second.terminate() == 0)
        }
    }

    /// PostgreSQL stops for several seconds during a load: ingest answers 503 with Retry-After,
    /// `/readyz` says not ready, the server recovers by itself when PostgreSQL is back, nothing
    /// acknowledged is lost, and SIGTERM still ends it cleanly.
    @Test func postgresOutageAnswers503AndTheServerRecoversByItself() async throws {
        let directory = "/var/tmp/tidemark-outage-\(UUID().uuidString)"
        let cluster = EmbeddedPostgres(directory: directory, logger: Logger(label: "outage-test"))
        defer {
            _ = try? cluster.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let url = try cluster.start()
        // At debug level the log's tail names the service a slow shutdown waits for.
        let server = try await ServerProcess.start(databaseURL: url, logLevel: "debug")
        var stopped = false
        defer { if !stopped { server.killNow() } }  // a failed expectation must not leave it running
        let http = HTTPTestClient(baseURL: server.baseURL)
        // A paced load (at most 4 × 20 bodies a second) with enough bodies to last 40 s, so it
        // outlasts the outage however fast the machine; the test ends it after the recovery.
        let bodies = try Self.bodies(days: 4, eventsPerDay: 20_000, eventsPerBody: 25)
        let next = Locked(0)
        let acknowledged = Locked<Set<Int>>([])

        let (refusals, readiness) = try await withThrowingTaskGroup(of: [(status: Int, retryAfter: String?)].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    await Self.postUntilRefused(
                        bodies, next: next, acknowledged: acknowledged, http: http, stopOnRefusal: false, pause: .milliseconds(50))
                }
            }
            try await waitUntil("20 bodies are acknowledged") { acknowledged.value.count >= 20 }
            #expect(try await http.get("/readyz").status == 200)
            #expect(try cluster.stop())
            let outageStarted = ContinuousClock.now
            var readiness: [Int] = []
            while ContinuousClock.now - outageStarted < .seconds(4) {
                readiness.append((try? await http.get("/readyz"))?.status ?? 0)
                try await Task.sleep(for: .milliseconds(250))
            }
            let ackedDuringOutage = acknowledged.value.count
            _ = try cluster.start()
            let recovered = ContinuousClock.now
            while (try? await http.get("/readyz"))?.status != 200 {
                #expect(ContinuousClock.now - recovered < .seconds(30), "the server did not become ready again")
                if ContinuousClock.now - recovered > .seconds(30) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            readiness.append(200)
            // The load resumes and finishes after the recovery.
            try await waitUntil("the load goes on after the recovery") {
                acknowledged.value.count > ackedDuringOutage + 5 || next.value >= bodies.count
            }
            next.withLock { $0 = bodies.count }  // enough: let the clients stop
            let refusals = try await group.reduce(into: []) { $0 += $1 }
            return (refusals, readiness)
        }

        #expect(refusals.contains { $0.status == 503 }, "clients saw 503 while PostgreSQL was down: \(refusals.map(\.status))")
        for refusal in refusals {
            #expect(refusal.status == 503, "only 503 during an outage, got \(refusal.status)")
            #expect(refusal.retryAfter.flatMap { Int($0) }.map { $0 > 0 } == true, "503 carries Retry-After")
        }
        #expect(readiness.contains(503), "/readyz reported the outage: \(readiness)")
        #expect(readiness.last == 200)
        #expect(acknowledged.value.count > 25, "the load went on after the recovery")

        let ackedIDs = Array(Set(Self.ids(of: acknowledged.value.map { bodies[$0] })))
        let stored = try await TestDatabase.withClient(try DatabaseURL(parsing: url)) { client in
            try await client.scalar("SELECT count(*)::bigint FROM events WHERE id = ANY(\(ackedIDs))")
        }
        #expect(stored == ackedIDs.count, "acknowledged events were lost")
        #expect(try await server.terminate() == 0)
        stopped = true
    }

    /// SIGTERM while PostgreSQL is down: the server still stops, with status 0, in bounded time.
    @Test func sigtermWhilePostgresIsDownStillExits() async throws {
        let directory = "/var/tmp/tidemark-outage-\(UUID().uuidString)"
        let cluster = EmbeddedPostgres(directory: directory, logger: Logger(label: "outage-test"))
        defer {
            _ = try? cluster.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let server = try await ServerProcess.start(databaseURL: try cluster.start())
        var stopped = false
        defer { if !stopped { server.killNow() } }
        let http = HTTPTestClient(baseURL: server.baseURL)
        #expect(try await http.post("/v1/events", text: Sample.saleJSON(id: "before-outage")).status == 200)
        #expect(try cluster.stop())
        let refused = try await http.post("/v1/events", text: Sample.saleJSON(id: "during-outage"), timeout: .seconds(15))
        #expect(refused.status == 503)

        let started = ContinuousClock.now
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            server.child.signal(SIGKILL)  // only if it hung; the status check below then fails
        }
        let status = try await server.terminate()
        stopped = true
        watchdog.cancel()
        #expect(status == 0, "exit status \(status) after \(ContinuousClock.now - started)")
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
