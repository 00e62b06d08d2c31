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
