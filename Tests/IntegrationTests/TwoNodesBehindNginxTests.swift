import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing
import TidemarkEmbeddedPostgres
import TidemarkEvents
import TidemarkRawLog
import TidemarkTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `scripts/two-nodes.sh`: two real servers behind a real nginx, one PostgreSQL.
@Suite struct TwoNodesBehindNginxTests {
    static let script = ShippedPipelines.directory.replacingOccurrences(of: "/Pipelines", with: "/scripts/two-nodes.sh")

    static func runScript(_ arguments: [String], state: String) async throws -> (status: Int32, output: String) {
        let (child, outputPath) = try spawnScript(arguments, state: state)
        let status = try await child.exitStatus()
        return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    /// For `defer` blocks, which cannot await.
    static func runScriptNow(_ arguments: [String], state: String) {
        _ = try? spawnScript(arguments, state: state).child.wait()
    }

    static func spawnScript(_ arguments: [String], state: String) throws -> (child: ChildProcess, outputPath: String) {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("two-nodes-\(UUID().uuidString).log").path
        let child = try ChildProcess.spawn(
            ["/bin/bash", script] + arguments, environment: ["TIDEMARK_TWO_NODES_DIR": state, "TIDEMARK_BINARY": ServerProcess.binary],
            outputPath: outputPath)
        return (child, outputPath)
    }

    static func endpoints(state: String) throws -> [String: String] {
        let text = try String(contentsOfFile: state + "/endpoints", encoding: .utf8)
        return Dictionary(
            uniqueKeysWithValues: text.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            })
    }

    @Test func eventsPostedThroughNginxOrToEitherNodeAreAnsweredExactlyByBoth() async throws {
        let catalog = try ShippedPipelines.catalog()
        let bodies = try LifecycleFaultTests.bodies(days: 1, eventsPerDay: 4_000)
        try await TestDatabase.withFreshDatabase { url, database in
            let state = FileManager.default.temporaryDirectory.appendingPathComponent("two-nodes-\(UUID().uuidString)").path
            let started = try await Self.runScript(["start", "--database-url", url.urlString, "--port", "0", "--no-auth"], state: state)
            #expect(started.status == 0, "\(started.output)")
            defer { Self.runScriptNow(["stop"], state: state) }
            let endpoints = try Self.endpoints(state: state)
            let proxy = HTTPTestClient(baseURL: try #require(endpoints["TIDEMARK_URL"]))
            let nodes = [endpoints["TIDEMARK_NODE_A"], endpoints["TIDEMARK_NODE_B"]].compactMap { $0 }.map { HTTPTestClient(baseURL: $0) }
            #expect(nodes.count == 2)

            // Most bodies through nginx from four clients, every tenth straight to a node.
            let servedBy = Locked<Set<String>>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<4 {
                    group.addTask {
                        for index in stride(from: client, to: bodies.count, by: 4) {
                            let target = index % 10 == 0 ? nodes[index % 20 == 0 ? 0 : 1] : proxy
                            let answer = try await target.post(
                                "/v1/events", body: ByteBuffer(bytes: bodies[index]), contentType: "application/x-ndjson")
                            #expect(answer.status == 200, "\(answer.text)")
                            if let node = answer.headers.first(name: "X-Tidemark-Node") { servedBy.withLock { _ = $0.insert(node) } }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(servedBy.value.count == 2, "nginx spread the load over both nodes: \(servedBy.value)")

            // Each node, and nginx, answers every view exactly, before and after a batch.
            for client in nodes + [proxy] {
                _ = try await LambdaEndToEndTests.waitUntilExact(
                    TestServer(http: client, database: database, databaseURL: url), catalog, watermark: 0)
            }
            let batch = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: url.urlString))
            #expect(batch.status == 0, "\(batch.output)")
            let watermark = Int64(try await database.scalar("SELECT max(seq) FROM events"))
            for client in nodes + [proxy] {
                _ = try await LambdaEndToEndTests.waitUntilExact(
                    TestServer(http: client, database: database, databaseURL: url), catalog, watermark: watermark)
            }

            // One node dies: nginx sends everything to the other, also posts (they are idempotent).
            let nodeA = try #require(
                Int32(try String(contentsOfFile: state + "/node-a.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(kill(nodeA, SIGKILL) == 0)
            for index in 0..<6 {
                let answer = try await proxy.post("/v1/events", text: Sample.saleJSON(id: "after-a-died-\(index)"), timeout: .seconds(20))
                #expect(answer.status == 200, "\(answer.text)")
            }
            #expect(try await database.scalar("SELECT count(*)::bigint FROM events WHERE id LIKE 'after-a-died-%'") == 6)

            let stopped = try await Self.runScript(["stop"], state: state)
            #expect(stopped.status == 0, "\(stopped.output)")
            let status = try await Self.runScript(["status"], state: state)
            #expect(status.status != 0)
            #expect(status.output.contains("nginx: stopped") && status.output.contains("node-b: stopped"), "\(status.output)")
        }
    }
}
