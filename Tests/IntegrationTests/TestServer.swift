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
        _ body: @Sendable (TestServer) async throws -> Result
    ) async throws -> Result {
        try await TestDatabase.withFreshDatabase { url, client in
            var configuration = ServerConfiguration(database: url, pipelines: try ShippedPipelines.catalog())
            configuration.port = 0
            configuration.requireAPIKeys = false  // AuthTests turn it on
            configure(&configuration)
            let app = buildApplication(configuration: configuration, logger: quietLogger)
            return try await app.test(.live) { testClient in
                let port = try #require(testClient.port)
                return try await body(TestServer(http: HTTPTestClient(baseURL: "http://127.0.0.1:\(port)"), database: client, databaseURL: url))
            }
        }
    }

    func eventCount() async throws -> Int {
        try await database.scalar("SELECT count(*)::bigint FROM events")
    }
}
