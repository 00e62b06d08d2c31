import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Testing
import TidemarkRawLog
import TidemarkServer
import TidemarkTestSupport

/// A real Tidemark server on a free port over a fresh database, for one test.
struct TestServer {
    var http: HTTPTestClient
    var database: PostgresClient
    var databaseURL: DatabaseURL

    static var quietLogger: Logger {
        var logger = Logger(label: "tidemark-test")
        logger.logLevel = .warning
        return logger
    }

    static func run<Result: Sendable>(
        configure: @Sendable (inout ServerConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (TestServer) async throws -> Result
    ) async throws -> Result {
        try await TestDatabase.withFreshDatabase { url, client in
            var configuration = ServerConfiguration(database: url, pipelines: try ShippedPipelines.catalog())
            configuration.port = 0
            configuration.requireAPIKeys = false  // AuthTests turn it on
            configure(&configuration)
            let started = Locked(false)
            let app = buildApplication(configuration: configuration, logger: quietLogger, onServerRunning: { _ in started.withLock { $0 = true } })
            return try await failingUnlessStarted(within: .seconds(180), started: started) {
                try await app.test(.live) { testClient in
                    let port = try #require(testClient.port)
                    return try await body(TestServer(http: HTTPTestClient(baseURL: "http://127.0.0.1:\(port)"), database: client, databaseURL: url))
                }
            }
        }
    }

    func eventCount() async throws -> Int {
        try await database.scalar("SELECT count(*)::bigint FROM events")
    }

    /// A counter or gauge without labels from `/metrics`; nil when it is not there.
    func metric(_ name: String) async throws -> Double? {
        let text = try await http.get("/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }
}

/// Runs `operation`, but throws if `started` is still false after `limit`.
///
/// HummingbirdTesting's live mode waits for the server's port without a deadline, so a server
/// that fails to start (its migration refused, say) would hang the whole suite. The operation
/// is then left behind, still waiting; the test fails with a message instead.
func failingUnlessStarted<Result: Sendable>(
    within limit: Duration, started: Locked<Bool>, _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let outcome = Locked<CheckedContinuation<Result, any Error>?>(nil)
    let finish: @Sendable (Swift.Result<Result, any Error>) -> Void = { result in
        outcome.withLock { continuation in
            continuation?.resume(with: result)
            continuation = nil
        }
    }
    return try await withCheckedThrowingContinuation { continuation in
        outcome.withLock { $0 = continuation }
        let work = Task {
            do { finish(.success(try await operation())) } catch { finish(.failure(error)) }
        }
        Task {
            let deadline = ContinuousClock.now + limit
            while ContinuousClock.now < deadline, !started.value, outcome.value != nil { try? await Task.sleep(for: .milliseconds(200)) }
            if !started.value {
                work.cancel()
                finish(.failure(WaitTimedOut(what: "the in-process server started (see the log above)", timeout: limit)))
            }
        }
    }
}
