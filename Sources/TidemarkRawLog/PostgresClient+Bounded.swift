import Logging
import PostgresNIO

/// How long PostgreSQL may take to start answering a read or a small statement, and to finish
/// a short transaction, before the caller gives up.
public enum DatabaseDeadline {
    public static let query: Duration = .seconds(30)
    public static let transaction: Duration = .seconds(60)
}

extension PostgresClient {
    /// `query`, failing with `TimeoutError` when PostgreSQL has not started answering within
    /// `limit` (the time to lease a connection, then to parse and bind; rows stream after).
    ///
    /// Why not plain `query`: PostgresNIO 1.33 can lease out a connection whose channel has
    /// just been closed (PostgreSQL stopped). The query written to it is dropped, and its
    /// answer never comes, cancellation included. After an outage this froze the speed layer
    /// for good, and a SIGTERMed server waited for it forever. The abandoned query stays
    /// parked (one task, once per such race); one that answers late is read to its end, so
    /// its connection goes back to the pool.
    @discardableResult
    public func boundedQuery(
        _ query: PostgresQuery, logger: Logger, within limit: Duration = DatabaseDeadline.query,
        file: String = #fileID, line: Int = #line
    ) async throws -> PostgresRowSequence {
        try await withTimeout(limit) {
            try await self.query(query, logger: logger, file: file, line: line)
        } discardLate: { rows in
            do { for try await _ in rows {} } catch {}
        }
    }

    /// `withTransaction`, failing with `TimeoutError` after `limit` (see `boundedQuery`). The
    /// transaction goes on by itself if PostgreSQL is merely slow, so callers must be ready
    /// for it to commit after all: the alert evaluation re-reads its state under a lock, and
    /// a reorder-point upsert repeated by its client sets the same values.
    public func boundedTransaction<Result: Sendable>(
        logger: Logger, within limit: Duration = DatabaseDeadline.transaction,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withTimeout(limit) {
            try await self.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }
}
