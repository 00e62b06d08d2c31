import Logging
import TidemarkRawLog

extension RawLogWriter: EventStore {
    public func withSession<Result: Sendable>(
        _ body: @escaping @Sendable (any EventStoreSession) async throws -> Result
    ) async throws -> Result {
        try await withSession { (session: Session) in try await body(session) }
    }
}

extension RawLogWriter.Session: EventStoreSession {
    public var executor: (any TaskExecutor)? { eventLoopExecutor }
}
