import Foundation
import Logging
import PostgresNIO
import TidemarkRawLog

/// A fresh, migrated database per test on the PostgreSQL server that `scripts/test.sh` starts,
/// so tests run in parallel without seeing each other's events.
public enum TestDatabase {
    public static let environmentVariable = "TIDEMARK_TEST_DATABASE_URL"

    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String {
            "\(TestDatabase.environmentVariable) is not set: run the suite with scripts/test.sh, which starts PostgreSQL"
        }
    }

    public static func serverURL() throws -> DatabaseURL {
        guard let text = ProcessInfo.processInfo.environment[environmentVariable], !text.isEmpty else {
            throw NotConfigured()
        }
        return try DatabaseURL(parsing: text)
    }

    /// Creates a database, applies the migrations (unless told not to), runs `body` with a client on it, and drops it.
    public static func withFreshDatabase<Result: Sendable>(
        logger: Logger = Logger(label: "test"),
        migrated: Bool = true,
        _ body: @Sendable (DatabaseURL, PostgresClient) async throws -> Result
    ) async throws -> Result {
        let server = try serverURL()
        let name = "t_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20))
        _ = try await withClient(server) { admin in
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        let url = server.with(database: name)
        do {
            let result = try await withClient(url) { client in
                if migrated { try await Migrator().migrate(client: client, logger: logger) }
                return try await body(url, client)
            }
            try await drop(name, server: server, logger: logger)
            return result
        } catch {
            try? await drop(name, server: server, logger: logger)
            throw error
        }
    }

    private static func drop(_ name: String, server: DatabaseURL, logger: Logger) async throws {
        _ = try await withClient(server) { admin in
            try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    /// Runs `body` with a running client that is shut down afterwards.
    public static func withClient<Result: Sendable>(
        _ url: DatabaseURL, maximumConnections: Int = 4, _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        var configuration = url.clientConfiguration()
        configuration.options.maximumConnections = maximumConnections
        let client = PostgresClient(configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

extension PostgresClient {
    /// The single integer a query such as `SELECT count(*) ...` returns.
    public func scalar(_ query: PostgresQuery, logger: Logger = Logger(label: "test")) async throws -> Int {
        for try await value in try await self.query(query, logger: logger).decode(Int.self) {
            return value
        }
        return 0
    }
}
