import CoreMetrics
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TidemarkEvents
import TidemarkRawLog

/// Where a batch of events is made durable; `RawLogWriter` in production.
public protocol EventStore: Sendable {
    /// Runs `body` with one connection held for every append made through the session: a
    /// writer keeps one across the batches it writes in a row.
    func withSession<Result: Sendable>(_ body: @escaping @Sendable (any EventStoreSession) async throws -> Result) async throws -> Result
    /// Succeeds when the store answers.
    func ping(logger: Logger) async throws
    /// Whether anything accepts connections at the store's address (no query): asked while a
    /// write takes long, to tell an outage from a slow database.
    func answersAtItsAddress() async -> Bool
}

/// An error with which a store says that the database refused the statement itself, while the
/// connection is fine (PostgreSQL's own errors are told apart by their SQLSTATE instead): the
/// group commit then writes the batch's requests one by one, so only the culprit is refused.
public protocol RefusedStatement: Error {}

/// Appends through the connection of one `EventStore.withSession`.
public protocol EventStoreSession: Sendable {
    /// Stores the new events in one transaction and tells, per position, whether each was new,
    /// and which `seq`s the stored ones got.
    func append(_ events: [Event], logger: Logger) async throws -> AppendOutcome
    /// Where the session's answers arrive, if that is one place: the writer runs there.
    var executor: (any TaskExecutor)? { get }
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
    /// A write still running after this long asks the store whether its database answers at
    /// all, and again as often until it ends; when nothing answers, it is abandoned at once.
    public var reachabilityCheckAfter: Duration = .seconds(1)
    /// How often an unreachable database is probed.
    public var probeInterval: Duration = .milliseconds(500)

    public init() {}
}

/// The group commit: collects concurrent requests into shared transactions and answers each
/// request only after its transaction committed. A second writer may start the next
/// transaction while one commits; PostgreSQL's advisory lock keeps them in order.
///
/// A writer holds one connection (`EventStore.withSession`) for the batches it writes in a
/// row, runs where that connection's answers arrive, and calls the store itself, with no task
/// in between: at several hundred commits a second, a task per write, a lease per batch and
/// the answer's trip to the concurrency pool each cost a hand-off between threads, together
/// about a quarter of 1-event ingest (BENCHMARKS.md). Writes are bounded by a `Watchdog`: a write past
/// the timeout, or whose database stops answering, is abandoned. Its requests are refused at
/// once, its writer's slot is freed for a new writer, and the old writer is cancelled and left
/// to end whenever the store returns (PostgresNIO's queries need not stop when cancelled).
public final class GroupCommitter: Service, Sendable {
    typealias Waiter = CommitWaiter
    typealias Pending = GroupCommitQueue<Waiter>.Pending

    private let store: any EventStore
    private let configuration: GroupCommitConfiguration
    private let logger: Logger
    private let state: Mutex<GroupCommitQueue<Waiter>>
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Called after each commit that stored events, with them (the speed layer folds them at once).
    private let onCommit: @Sendable (LoggedBatch) -> Void
    private let metrics: IngestMetrics
    /// Times every write's `writeTimeout` and `reachabilityCheckAfter`.
    private let watchdog: Watchdog

    public init(
        store: any EventStore, configuration: GroupCommitConfiguration, logger: Logger, metrics: IngestMetrics = .disabled,
        watchdog: Watchdog = Watchdog(), onCommit: @escaping @Sendable (LoggedBatch) -> Void = { _ in }
    ) {
        self.store = store
        self.watchdog = watchdog
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
            for await _ in wakeups {
                while state.withLock({ $0.claimWriter() }) { startWriter() }
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.beginShutdown() }
            self.wake.finish()
        }
        // Stopping (gracefully or by cancellation): admit nothing new, and write or refuse
        // whatever was admitted before, so no request waits forever.
        state.withLock { $0.beginShutdown() }
        await finishAdmitted()
    }

    /// Starts a writer in a slot already claimed. An unstructured task rather than a child of
    /// `run`: a writer whose write was abandoned may never return, and a task group would wait
    /// for it at shutdown.
    private func startWriter() {
        let writer = WriterTask()
        // High priority: a writer is the one serial stage of ingest, and where it runs in the
        // concurrency pool (before its session moves it to the connection's event loop, or
        // with a store that has none) it would otherwise queue behind request handlers.
        writer.start(
            Task(priority: .high) {
                guard await self.writeAllPending(by: writer) else { return }
                self.state.withLock { $0.releaseWriter() }
                // Work may have arrived after this writer saw an empty queue.
                self.wake.yield()
            })
    }

    /// After shutdown began: starts writers for what is still queued and returns once the queue
    /// is empty and every writer has stopped or been abandoned (each write ends within the
    /// write timeout, one way or the other).
    private func finishAdmitted() async {
        while true {
            let (mayStart, done) = state.withLock { ($0.claimWriter(), $0.pendingRequestCount == 0 && $0.activeWriters == 0) }
            if done { return }
            if mayStart {
                startWriter()
            } else {
                // Not `Task.sleep` in this task: when `run` was cancelled it would not sleep.
                await Task { try? await Task.sleep(for: .milliseconds(5)) }.value
            }
        }
    }

    /// How a write ended, for its writer.
    private enum WriteEnd {
        /// Its requests are answered; the writer goes on.
        case settled
        /// The watchdog answered its requests and freed the writer's slot: the writer stops.
        case abandoned
        /// Its requests were refused because the connection failed: the writer leases another.
        case connectionLost
    }

    /// Writes batches until the queue is empty, on one connection for as long as it works.
    /// - Returns: false when a write was abandoned: its slot is no longer this writer's.
    private func writeAllPending(by writer: WriterTask) async -> Bool {
        while true {
            guard let first = await nextBatch() else { return true }
            // The first batch's deadlines run from before the lease, so a database that stopped
            // accepting connections refuses it as promptly as a hung write.
            let unanswered = UnansweredRequests(first)
            let guardian = guardWrite(unanswered, by: writer)
            let end: WriteEnd
            do {
                end = try await store.withSession { [self] session in
                    // On the connection's event loop, a commit's answer resumes the writer
                    // there, instead of being handed to the concurrency pool (+12% under run A).
                    guard let executor = session.executor else {
                        return await write(first, unanswered: unanswered, guardian: guardian, andWhatFollows: writer, on: session)
                    }
                    return await withTaskExecutorPreference(executor) {
                        await write(first, unanswered: unanswered, guardian: guardian, andWhatFollows: writer, on: session)
                    }
                }
            } catch {
                // No connection could be leased (or the wait for one was abandoned).
                guardian.writeEnded()
                end = refuseUnreachable(unanswered: unanswered, because: error)
            }
            switch end {
            case .settled: return true
            case .abandoned: return false
            case .connectionLost:
                // Outside the session, so that no connection is held while the database is away.
                await probeUntilAvailable()
            }
        }
    }

    /// Writes `first`, whose deadlines are already running, then every batch after it while
    /// the queue holds more and the session's connection works.
    private func write(
        _ first: [Pending], unanswered: UnansweredRequests, guardian: WriteGuard, andWhatFollows writer: WriterTask,
        on session: any EventStoreSession
    ) async -> WriteEnd {
        var end = await write(first.indices, of: first, unanswered: unanswered, guardian: guardian, by: writer, on: session)
        while end == .settled, let batch = await nextBatch() {
            let unanswered = UnansweredRequests(batch)
            let guardian = guardWrite(unanswered, by: writer)
            end = await write(batch.indices, of: batch, unanswered: unanswered, guardian: guardian, by: writer, on: session)
        }
        return end
    }

    /// The next batch, after the linger if one is configured; nil when the queue is empty.
    private func nextBatch() async -> [Pending]? {
        if configuration.linger > .zero, state.withLock({ $0.pendingEventCount < $0.maxBatchEvents }) {
            try? await Task.sleep(for: configuration.linger)
        }
        let batch = state.withLock { $0.nextBatch() }
        return batch.isEmpty ? nil : batch
    }

    /// Writes the requests `positions` of `batch` in one transaction and answers them.
    private func write(
        _ positions: Range<Int>, of batch: [Pending], unanswered: UnansweredRequests, guardian: WriteGuard, by writer: WriterTask,
        on session: any EventStoreSession
    ) async -> WriteEnd {
        // Refused already (abandoned while waiting for its connection): not written after all.
        guard !unanswered.isAbandoned else { return .abandoned }
        let events = positions.count == 1 ? batch[positions.lowerBound].events : batch[positions].flatMap(\.events)
        let started = ContinuousClock.now
        let result: Result<AppendOutcome, any Error>
        do {
            result = .success(try await session.append(events, logger: logger))
        } catch {
            result = .failure(error)
        }
        guardian.writeEnded()
        switch result {
        case .success(let outcome):
            // Handed on even when the watchdog refused the requests meanwhile: they are stored.
            if let stored = outcome.stored { onCommit(stored) }
            guard let requests = unanswered.take(positions) else { return .abandoned }
            let isNew = outcome.isNew
            metrics.commitDuration.recordInterval(since: started)
            metrics.batchEvents.record(events.count)
            let acceptedTotal = isNew.count(where: { $0 })
            metrics.accepted.increment(by: acceptedTotal)
            metrics.duplicates.increment(by: events.count - acceptedTotal)
            var offset = 0
            for request in requests {
                let count = request.events.count
                let accepted = isNew[offset..<(offset + count)].count(where: { $0 })
                offset += count
                request.waiter.resume(returning: CommitReceipt(accepted: accepted, duplicates: count - accepted))
            }
            return .settled
        case .failure(let error) where Self.isStatementError(error) && positions.count > 1:
            guard !unanswered.isAbandoned else { return .abandoned }
            // One request's events broke the statement: write each request alone so that
            // the others still land and only the culprit is refused.
            logger.warning("batch write refused by PostgreSQL; retrying requests one by one", metadata: ["error": "\(String(reflecting: error))"])
            for position in positions {
                let guardian = guardWrite(unanswered, by: writer)
                let end = await write(position..<(position + 1), of: batch, unanswered: unanswered, guardian: guardian, by: writer, on: session)
                if end != .settled { return end }
            }
            return .settled
        case .failure(let error) where Self.isStatementError(error):
            guard let requests = unanswered.take(positions) else { return .abandoned }
            metrics.refusals.increment()
            logger.error("PostgreSQL refused a write", metadata: ["error": "\(String(reflecting: error))"])
            for request in requests { request.waiter.resume(throwing: IngestRefusal.storageFailed("the database refused the write")) }
            return .settled
        case .failure(let error):
            return refuseUnreachable(unanswered: unanswered, because: error)
        }
    }

    /// Refuses with `503` every request of the batch not answered yet (during a one-by-one
    /// retry, the ones not yet retried too) and everything queued; the writer then probes the
    /// database outside its session.
    private func refuseUnreachable(unanswered: UnansweredRequests, because error: any Error) -> WriteEnd {
        guard let requests = unanswered.takeRemaining() else { return .abandoned }
        metrics.refusals.increment()
        logger.error("database unreachable; refusing ingests until it answers", metadata: ["error": "\(error)"])
        let waiting = state.withLock { $0.databaseFailed() }
        for request in requests + waiting { request.waiter.resume(throwing: IngestRefusal.databaseUnavailable) }
        return .connectionLost
    }

    /// The watchdog's two deadlines for one write: the write timeout, and the first check
    /// that the database still answers at its address (repeated until the write ends).
    private func guardWrite(_ unanswered: UnansweredRequests, by writer: WriterTask) -> WriteGuard {
        let guardian = WriteGuard()
        let timeout = configuration.writeTimeout
        let deadline = watchdog.watch(for: timeout) { [self] in
            abandon(unanswered, by: writer, because: "the write did not end within \(timeout)")
        }
        let check = configuration.reachabilityCheckAfter
        let reachability = watchdog.watch(for: check) { [self] in
            Task {
                while guardian.isRunning, !unanswered.isAbandoned {
                    if await !store.answersAtItsAddress() {
                        guard guardian.isRunning else { return }
                        return abandon(unanswered, by: writer, because: "nothing accepts connections at the database's address")
                    }
                    try? await Task.sleep(for: check)
                }
            }
        }
        guardian.watch(deadline, reachability)
        return guardian
    }

    /// Refuses the requests of a write that is taking too long (and everything queued: the
    /// database is taken to be unreachable), frees the writer's slot for a new writer and
    /// cancels the old one, which stops waiting for a connection if it was.
    private func abandon(_ unanswered: UnansweredRequests, by writer: WriterTask, because reason: String) {
        let requests = unanswered.abandon()
        guard !requests.isEmpty else { return }
        writer.cancel()
        metrics.refusals.increment()
        logger.error("database unreachable; refusing ingests until it answers", metadata: ["error": "\(reason)"])
        let waiting = state.withLock { state in
            state.releaseWriter()
            return state.databaseFailed()
        }
        for request in requests + waiting { request.waiter.resume(throwing: IngestRefusal.databaseUnavailable) }
        Task {
            await probeUntilAvailable()
            wake.yield()
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
        if error is any RefusedStatement { return true }
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

/// The requests of one batch not answered yet, shared by its writer and the watchdog: each
/// request is answered exactly once, by whichever of them takes it.
final class UnansweredRequests: Sendable {
    private struct State {
        var requests: [GroupCommitQueue<CommitWaiter>.Pending?]
        var isAbandoned = false
    }
    private let state: Mutex<State>

    init(_ batch: [GroupCommitQueue<CommitWaiter>.Pending]) {
        state = Mutex(State(requests: batch))
    }

    var isAbandoned: Bool { state.withLock { $0.isAbandoned } }

    /// The writer takes every request not answered yet; nil once the write was abandoned.
    func takeRemaining() -> [GroupCommitQueue<CommitWaiter>.Pending]? {
        state.withLock { state in
            guard !state.isAbandoned else { return nil }
            defer { state.requests = state.requests.map { _ in nil } }
            return state.requests.compactMap { $0 }
        }
    }

    /// The writer takes the requests at `positions` to answer them; nil once the write was abandoned.
    func take(_ positions: Range<Int>) -> [GroupCommitQueue<CommitWaiter>.Pending]? {
        state.withLock { state in
            guard !state.isAbandoned else { return nil }
            defer { for position in positions { state.requests[position] = nil } }
            return state.requests[positions].compactMap { $0 }
        }
    }

    /// The watchdog takes every request still unanswered; when there is none, the writer is
    /// not stuck in a write and nothing is abandoned.
    func abandon() -> [GroupCommitQueue<CommitWaiter>.Pending] {
        state.withLock { state in
            let left = state.requests.compactMap { $0 }
            guard !left.isEmpty else { return [] }
            state.isAbandoned = true
            state.requests = state.requests.map { _ in nil }
            return left
        }
    }
}

/// One write's watches, and whether the write still runs.
final class WriteGuard: Sendable {
    private struct State {
        var isRunning = true
        var watches: [Watchdog.Watch] = []
    }
    private let state = Mutex(State())

    var isRunning: Bool { state.withLock { $0.isRunning } }

    func watch(_ watches: Watchdog.Watch...) {
        state.withLock { $0.watches = watches }
    }

    func writeEnded() {
        let watches = state.withLock { state in
            state.isRunning = false
            return state.watches
        }
        for watch in watches { watch.cancel() }
    }
}

/// The task a writer runs in, for the watchdog to cancel when it abandons the writer's write.
final class WriterTask: Sendable {
    private struct State {
        var task: Task<Void, Never>?
        var isCancelled = false
    }
    private let state = Mutex(State())

    func start(_ task: Task<Void, Never>) {
        let cancelled = state.withLock { state in
            state.task = task
            return state.isCancelled
        }
        if cancelled { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state in
            state.isCancelled = true
            return state.task
        }
        task?.cancel()
    }
}
