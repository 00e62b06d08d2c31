import Logging
import PostgresNIO
import ServiceLifecycle
import TidemarkRawLog

/// Runs services once the schema is migrated. Hummingbird runs `beforeServerStarts` and the
/// other services concurrently, and the speed layer must not read tables that a first start
/// is still creating. One migration check serves them all (each is a transaction under the
/// migrations lock, which every starting server takes).
struct MigratedService: Service {
    let wrapped: [any Service]
    let client: PostgresClient
    let logger: Logger

    init(_ wrapped: any Service..., client: PostgresClient, logger: Logger) {
        self.wrapped = wrapped
        self.client = client
        self.logger = logger
    }

    func run() async throws {
        // The wrapped services keep no work that a restart would lose (alert transitions and
        // notifications are in PostgreSQL), so a graceful shutdown may cancel them mid-query;
        // without that, one waiting for a connection to a PostgreSQL that is down would hold
        // the whole server up on SIGTERM.
        try await cancelWhenGracefulShutdown { try await runAfterMigrating() }
    }

    private func runAfterMigrating() async throws {
        while !Task.isCancelled {
            do {
                // Concurrent migrations are safe (one transaction under an advisory lock).
                try await Migrator().migrate(client: client, logger: logger)
                break
            } catch {
                if Task.isCancelled { return }  // stopped before the database answered
                logger.warning("waiting for the database before starting the speed layer", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
        try await withThrowingDiscardingTaskGroup { group in
            for service in wrapped {
                group.addTask { [logger] in
                    defer { logger.debug("service stopped", metadata: ["service": "\(type(of: service))"]) }
                    try await service.run()
                }
            }
        }
    }
}
