import Logging
import NIOCore
import PostgresNIO
import TidemarkEvents

/// Appends events to the raw log, each `id` at most once, in one transaction per call.
public struct RawLogWriter: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Stores the events that are new and tells, per position, whether it was new.
    ///
    /// Repeats inside `events` count once, for their first position. The transaction holds the
    /// raw-log append lock from its first statement to its commit, so no other writer can store
    /// an id between the existence check and the `COPY`, and `seq` values follow commit order.
    public func append(_ events: [Event], logger: Logger) async throws -> [Bool] {
        var isNew = [Bool](repeating: false, count: events.count)
        var firstPosition: [String: Int] = [:]
        firstPosition.reserveCapacity(events.count)
        for (position, event) in events.enumerated() where firstPosition[event.id] == nil {
            firstPosition[event.id] = position
            isNew[position] = true
        }
        guard !firstPosition.isEmpty else { return isNew }
        let ids = Array(firstPosition.keys)

        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.rawLogAppend.rawValue))",
                logger: logger)
            let existing = try await connection.query("SELECT id FROM events WHERE id = ANY(\(ids))", logger: logger)
            for try await id in existing.decode(String.self) {
                if let position = firstPosition[id] { isNew[position] = false }
            }
            let newPositions = isNew.indices.filter { isNew[$0] }
            guard !newPositions.isEmpty else { return }
            try await connection.copyFrom(table: "events", columns: CopyTextEncoder.columns, logger: logger) { writer in
                var buffer = ByteBuffer()
                buffer.reserveCapacity(256 * 1024)
                for position in newPositions {
                    CopyTextEncoder.writeRow(events[position], into: &buffer)
                    if buffer.readableBytes >= 256 * 1024 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
        }
        return isNew
    }
}

extension RawLogWriter {
    /// Succeeds when PostgreSQL answers a trivial query.
    public func ping(logger: Logger) async throws {
        try await client.query("SELECT 1", logger: logger)
    }
}
