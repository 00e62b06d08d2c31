import CoreMetrics
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TidemarkEvents
import TidemarkRawLog

/// Where a batch of events is made durable; `RawLogWriter` in production.
public protocol EventStore: Sendable {
    /// Stores the new events in one transaction and tells, per position, whether each was new,
    /// and which `seq`s the stored ones got.
    func append(_ events: [Event], logger: Logger) async throws -> AppendOutcome
    /// Succeeds when the store answers.
    func ping(logger: Logger) async throws
}

/// Tuning of the group commit.
public struct GroupCommitConfiguration: Sendable {
    /// Most events waiting at once; past it requests get `429`.
    public var queueCapacity: Int = 100_000
    /// Most events per transaction.
    public var maxBatchEvents: Int = 10_000
    /// Transactions in flight at once (see `GroupCommitQueue.maxWriters`).
    public var writers: Int = 2
    /// Events that must wait before a second writer starts: more than `RawLogWriter`'s
    /// 256-id limit of the one-round-trip procedure, so only COPY batches overlap. A COPY takes
    /// several round trips, and one writer alone lost 7% on 1,000-event requests; with
    /// 1-event requests one writer and its larger batches did 5-8% better on average
    /// (BENCHMARKS.md).
    public var extraWriterMinEvents: Int = 257
    /// How long the writer waits for more requests before writing a batch smaller than
    /// `maxBatchEvents`. Zero relies on natural batching: requests arriving while a
    /// transaction commits form the next one.
    public var linger: Duration = .zero
    /// A write that takes longer is abandoned and its requests refused with `503`.
    public var writeTimeout: Duration = .seconds(10)
    /// How often an unreachable database is probed.
    public var probeInterval: Duration = .milliseconds(500)

    public init() {}
}

/// The group commit: collects concurrent requests into shared transactions and answers each
/// request only after its transaction committed. A second writer may start the next
/// transaction while one commits; PostgreSQL's advisory lock keeps them in order.
public final class GroupCommitter: Service, Sendable {
    typealias Waiter = CommitWaiter

    private let store: any EventStore
    private let configuration: GroupCommitConfiguration
    private let logger: Logger
    private let state: Mutex<GroupCommitQueue<Waiter>>
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Called after each commit that stored events, with them (the speed layer folds them at once).
    private let onCommit: @Sendable (LoggedBatch) -> Void
    private let metrics: IngestMetrics

    public init(
        store: any EventStore, configuration: GroupCommitConfiguration, logger: Logger, metrics: IngestMetrics = .disabled,
        onCommit: @escaping @Sendable (LoggedBatch) -> Void = { _ in }
    ) {
        self.store = store
        self.metrics = metrics
        self.onCommit = onCommit
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(
            GroupCommitQueue(
                capacity: configuration.queueCapacity, maxBatchEvents: configuration.maxBatchEvents,
                maxWriters: max(1, configuration.writers), extraWriterMinEvents: max(1, configuration.extraWriterMinEvents)))
        (self.wakeups, self.wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Whether new requests are currently admitted (the database was reachable at last contact).
    public var isDatabaseAvailable: Bool {
        state.withLock { $0.isDatabaseAvailable }
    }

    /// Events waiting for a transaction (for the queue-depth gauge).
    public var queuedEvents: Int {
        state.withLock { $0.pendingEventCount }
    }

    /// Waits until the events are committed (or refused).
    /// - Throws: `IngestRefusal`.
    public func submit(_ events: [Event]) async throws -> CommitReceipt {
        if events.isEmpty { return CommitReceipt(accepted: 0, duplicates: 0) }
        return try await withCheckedThrowingContinuation { continuation in
            enqueue(events, waiter: .continuation(continuation))
        }
    }

    /// Calls `completion` once the events are committed (or refused, with an `IngestRefusal`),
    /// on the writer's thread or, for a refusal, at once on the caller's: for callers outside
    /// Swift concurrency (`IngestFastPath` answers on its connection's event loop).
    public func submit(_ events: [Event], completion: @escaping @Sendable (Result<CommitReceipt, any Error>) -> Void) {
        if events.isEmpty { return completion(.success(CommitReceipt(accepted: 0, duplicates: 0))) }
        enqueue(events, waiter: .callback(completion))
    }

    private func enqueue(_ events: [Event], waiter: Waiter) {
        let decision = state.withLock { $0.submit(events, waiter: waiter) }
        switch decision {
        case .enqueued: wake.yield()
        // A busy writer loops until the queue is empty, and one that stops wakes the
        // dispatcher after freeing its slot, so no wake-up (and task switch) is needed here.
        case .enqueuedWritersBusy: break
        case .rejectedFull: waiter.resume(throwing: IngestRefusal.overloaded)
        case .rejectedUnavailable: waiter.resume(throwing: IngestRefusal.databaseUnavailable)
        case .rejectedShuttingDown: waiter.resume(throwing: IngestRefusal.shuttingDown)
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { writers in
                for await _ in wakeups {
                    while state.withLock({ $0.claimWriter() }) {
                        // High priority: a writer is the one serial stage of ingest, and its
                        // continuation after each commit otherwise queues behind the request
                        // handlers it is about to answer (1.5 -> 1.3 ms per commit under run A).
                        writers.addTask(priority: .high) {
                            await self.writeAllPending()
                            self.state.withLock { $0.releaseWriter() }
                            // Work may have arrived after this writer saw an empty queue.
                            self.wake.yield()
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.beginShutdown() }
            self.wake.finish()
        }
        // Stopping (gracefully or by cancellation): admit nothing new, and write or refuse
        // whatever was admitted before, so no request waits forever.
        state.withLock { $0.beginShutdown() }
        await writeAllPending()
    }

    private func writeAllPending() async {
        while true {
            if configuration.linger > .zero, state.withLock({ $0.pendingEventCount < $0.maxBatchEvents }) {
                try? await Task.sleep(for: configuration.linger)
            }
            let batch = state.withLock { $0.nextBatch() }
            if batch.isEmpty { return }
            await write(batch)
        }
    }

    private func write(_ batch: [GroupCommitQueue<Waiter>.Pending]) async {
        let events = batch.count == 1 ? batch[0].events : batch.flatMap(\.events)
        let started = ContinuousClock.now
        do {
            let outcome = try await withTimeout(configuration.writeTimeout) { [store, logger] in
                try await store.append(events, logger: logger)
            }
            let isNew = outcome.isNew
            metrics.commitDuration.recordInterval(since: started)
            metrics.batchEvents.record(events.count)
            let acceptedTotal = isNew.count(where: { $0 })
            metrics.accepted.increment(by: acceptedTotal)
            metrics.duplicates.increment(by: events.count - acceptedTotal)
            if let stored = outcome.stored { onCommit(stored) }
            var offset = 0
            for request in batch {
                let count = request.events.count
                let accepted = isNew[offset..<(offset + count)].count(where: { $0 })
                offset += count
                request.waiter.resume(returning: CommitReceipt(accepted: accepted, duplicates: count - accepted))
            }
        } catch let error where Self.isStatementError(error) && batch.count > 1 {
            // One request's events broke the statement: write each request alone so that
            // the others still land and only the culprit is refused.
            logger.warning("batch write refused by PostgreSQL; retrying requests one by one", metadata: ["error": "\(String(reflecting: error))"])
            for request in batch { await write([request]) }
        } catch let error where Self.isStatementError(error) {
            metrics.refusals.increment()
            logger.error("PostgreSQL refused a write", metadata: ["error": "\(String(reflecting: error))"])
            for request in batch { request.waiter.resume(throwing: IngestRefusal.storageFailed("the database refused the write")) }
        } catch {
            metrics.refusals.increment()
            logger.error("database unreachable; refusing ingests until it answers", metadata: ["error": "\(error)"])
            let waiting = state.withLock { $0.databaseFailed() }
            for request in batch + waiting { request.waiter.resume(throwing: IngestRefusal.databaseUnavailable) }
            await probeUntilAvailable()
        }
    }

    /// Whether PostgreSQL answers within `limit` now, for `/readyz`: without ingest traffic
    /// the committer would not notice an outage by itself.
    public func databaseAnswers(within limit: Duration) async -> Bool {
        guard isDatabaseAvailable else { return false }
        do {
            try await withTimeout(limit) { [store, logger] in try await store.ping(logger: logger) }
            return true
        } catch {
            return false
        }
    }

    private func probeUntilAvailable() async {
        while !Task.isCancelled, !state.withLock({ $0.isShuttingDown }) {
            try? await Task.sleep(for: configuration.probeInterval)
            do {
                try await withTimeout(configuration.writeTimeout) { [store, logger] in try await store.ping(logger: logger) }
                state.withLock { $0.databaseRecovered() }
                logger.info("database reachable again; accepting ingests")
                return
            } catch {
                logger.debug("database still unreachable", metadata: ["error": "\(error)"])
            }
        }
    }

    /// An error the server raised while executing SQL (the connection itself is fine).
    private static func isStatementError(_ error: any Error) -> Bool {
        if let transaction = error as? PostgresTransactionError {
            guard let inner = transaction.closureError ?? transaction.commitError ?? transaction.beginError else { return false }
            return isStatementError(inner)
        }
        guard let psql = error as? PSQLError, psql.code == .server else { return false }
        // Connection exceptions, operator intervention (shutdown), resources and system errors
        // say the database is going away, not that the statement was wrong.
        let sqlState = psql.serverInfo?[.sqlState] ?? ""
        return !["08", "53", "57", "58"].contains(String(sqlState.prefix(2)))
    }
}

/// Who is told a submitted request's outcome: an awaiting handler, or a callback.
enum CommitWaiter: Sendable {
    case continuation(CheckedContinuation<CommitReceipt, any Error>)
    case callback(@Sendable (Result<CommitReceipt, any Error>) -> Void)

    func resume(returning receipt: CommitReceipt) {
        switch self {
        case .continuation(let continuation): continuation.resume(returning: receipt)
        case .callback(let completion): completion(.success(receipt))
        }
    }

    func resume(throwing error: any Error) {
        switch self {
        case .continuation(let continuation): continuation.resume(throwing: error)
        case .callback(let completion): completion(.failure(error))
        }
    }
}
