import Logging
import PostgresNIO
import TidemarkRawLog

/// Runs `body` with a running client, for one-shot commands that are not a service group.
func withPostgresClient<Result: Sendable>(
    url: DatabaseURL, logger: Logger, _ body: @escaping @Sendable (PostgresClient) async throws -> Result
) async throws -> Result {
    var configuration = url.clientConfiguration()
    configuration.options.connectTimeout = .seconds(5)
    let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    return try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

extension DatabaseOptions {
    /// The database of these options (starting the embedded one if needed), migrated, with a
    /// running client: what every one-shot command that reads or writes Tidemark's tables needs.
    func withMigratedClient<Result: Sendable>(
        logger: Logger, _ body: @escaping @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let url = try resolve(logger: logger)
        return try await withPostgresClient(url: url, logger: logger) { client in
            try await Migrator().migrate(client: client, logger: logger)
            return try await body(client)
        }
    }
}
