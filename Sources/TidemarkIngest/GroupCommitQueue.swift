import TidemarkEvents

/// The group commit's state, without I/O: requests waiting to be written, the bound on them,
/// and whether the database is reachable. The `GroupCommitter` owns one behind a lock.
///
/// Generic over `Waiter` (a continuation in production) so that tests drive it directly.
public struct GroupCommitQueue<Waiter> {
    public struct Pending {
        public var events: [Event]
        public var waiter: Waiter
    }

    public enum SubmitDecision: Equatable {
        /// Queued; a writer slot is free, so one must be started.
        case enqueued
        /// Queued; the busy writers will take it when they look for more work (every slot is
        /// taken, or too few events wait to start another writer).
        case enqueuedWritersBusy
        /// Queue full: answer 429.
        case rejectedFull
        /// Database unreachable: answer 503.
        case rejectedUnavailable
        /// Shutting down: answer 503.
        case rejectedShuttingDown
    }

    /// Most events that may wait at once; beyond it requests are refused, not buffered.
    public let capacity: Int
    /// Most events written in one transaction (a single larger request is still written whole).
    public let maxBatchEvents: Int
    /// Most transactions in flight at once. With more than one, the next batch is already on
    /// its way while the previous one commits; the advisory lock still orders them.
    public let maxWriters: Int
    /// Events that must be waiting for a writer beyond the first to start. Below it, requests
    /// wait for the busy writer and form one larger batch instead.
    public let extraWriterMinEvents: Int

    private var pending: [Pending] = []
    private var head = 0
    public private(set) var pendingEventCount = 0
    public private(set) var isDatabaseAvailable = true
    public private(set) var isShuttingDown = false
    public private(set) var activeWriters = 0

    public init(capacity: Int, maxBatchEvents: Int, maxWriters: Int = 1, extraWriterMinEvents: Int = 1) {
        precondition(capacity > 0 && maxBatchEvents > 0 && maxWriters > 0 && extraWriterMinEvents > 0)
        self.capacity = capacity
        self.maxBatchEvents = maxBatchEvents
        self.maxWriters = maxWriters
        self.extraWriterMinEvents = extraWriterMinEvents
    }

    /// Whether another writer should start: there is work and a free writer slot (now taken).
    public mutating func claimWriter() -> Bool {
        guard pendingRequestCount > 0, writerMayStart else { return false }
        activeWriters += 1
        return true
    }

    private var writerMayStart: Bool {
        activeWriters == 0 || (activeWriters < maxWriters && pendingEventCount >= extraWriterMinEvents)
    }

    /// A writer found the queue empty and stops.
    public mutating func releaseWriter() {
        precondition(activeWriters > 0)
        activeWriters -= 1
    }

    public var pendingRequestCount: Int { pending.count - head }

    public mutating func submit(_ events: [Event], waiter: Waiter) -> SubmitDecision {
        if isShuttingDown { return .rejectedShuttingDown }
        if !isDatabaseAvailable { return .rejectedUnavailable }
        // A request larger than the whole capacity is admitted into an empty queue, so the
        // configured request size limit, not the queue, decides what is too large.
        if pendingEventCount > 0, pendingEventCount + events.count > capacity { return .rejectedFull }
        pending.append(Pending(events: events, waiter: waiter))
        pendingEventCount += events.count
        return writerMayStart ? .enqueued : .enqueuedWritersBusy
    }

    /// Takes the oldest requests, whole, up to `maxBatchEvents` events (at least one request).
    public mutating func nextBatch() -> [Pending] {
        var batch: [Pending] = []
        var events = 0
        while head < pending.count {
            let next = pending[head]
            if !batch.isEmpty, events + next.events.count > maxBatchEvents { break }
            batch.append(next)
            events += next.events.count
            head += 1
        }
        pendingEventCount -= events
        compact()
        return batch
    }

    /// The database stopped answering: every waiting request is handed back to be refused
    /// (so none waits for an outage to end), and new ones are refused until `databaseRecovered`.
    public mutating func databaseFailed() -> [Pending] {
        isDatabaseAvailable = false
        return drain()
    }

    public mutating func databaseRecovered() {
        isDatabaseAvailable = true
    }

    /// Stop admitting requests; the ones already queued are still written.
    public mutating func beginShutdown() {
        isShuttingDown = true
    }

    private mutating func drain() -> [Pending] {
        let rest = Array(pending[head...])
        pending.removeAll(keepingCapacity: true)
        head = 0
        pendingEventCount = 0
        return rest
    }

    /// Reclaims the consumed prefix once it dominates, keeping `nextBatch` amortised O(1) per request.
    private mutating func compact() {
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
    }
}

extension GroupCommitQueue.Pending: Sendable where Waiter: Sendable {}
