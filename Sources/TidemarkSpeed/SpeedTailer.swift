import CoreMetrics
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TidemarkBatch
import TidemarkPipelines
import TidemarkRawLog

/// Feeds the speed layer from the raw log, in `seq` order, and switches views to newer
/// batches. On start it rebuilds every view from the log above its batch watermark.
///
/// Events this server stored arrive through `handOff(_:)`, straight from the group commit, and
/// are folded without reading them back when they are the next ones in the log (nothing else
/// was committed since the tail); otherwise the tailer reads the log up to them. Events
/// written by other server processes sharing the database arrive through those reads, and
/// through a poll of the log whenever no hand-off came for `pollInterval`; `wake()` (called
/// by queries that saw a newer batch) cuts the wait.
public final class SpeedTailer: Service, Sendable {
    public struct Configuration: Sendable {
        public var pollInterval: Duration = .milliseconds(100)
        public var batchCheckInterval: Duration = .seconds(1)
        public var pageSize = 5_000
        /// Most events waiting in hand-offs; past it they are dropped and read back instead.
        public var maxHandedOffEvents = 100_000
        /// How far ahead of the clock `occurred_at` may be (the validation rule): an event that
        /// occurred within the rolling windows' 48 hours may have been received that much earlier.
        public var futureSkew: Duration = .seconds(300)
        /// Added to that when the rolling windows are loaded on start, for the seconds by which
        /// `received_at` can run behind `seq` order and for clocks that disagree a little.
        public var receiveSlack: Duration = .seconds(3_600)

        public init() {}
    }

    let speed: SpeedLayer
    let client: PostgresClient
    let reader: RawLogReader
    let configuration: Configuration
    let logger: Logger
    private let wakeRequest = Mutex<WakeRequest?>(nil)
    private let pendingHandOffs = Mutex(HandOffs())
    /// Events folded from hand-offs and from reads of the log.
    private let foldedHandedOff: Counter
    private let foldedReadBack: Counter
    private let handedOffTotal = Atomic(0)
    private let readBackTotal = Atomic(0)
    /// Batches already reported as computed from another definition (logged once each).
    private let warnedGenerations = Mutex<Set<Int64>>([])

    /// Ordered: a later case asks for more than an earlier one.
    enum WakeRequest: Comparable {
        case foldHandedOff
        case readLog
        case readLogAndBatches
    }

    struct HandOffs {
        var batches: [LoggedBatch] = []
        var events = 0
    }

    public init(
        speed: SpeedLayer, client: PostgresClient, configuration: Configuration = .init(), logger: Logger,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        let folded = "tidemark_speed_folded_events_total"
        foldedHandedOff = Counter(label: folded, dimensions: [("source", "handoff")], factory: metrics)
        foldedReadBack = Counter(label: folded, dimensions: [("source", "log")], factory: metrics)
        self.speed = speed
        self.client = client
        self.reader = RawLogReader(client: client, logger: logger)
        self.configuration = configuration
        self.logger = logger
    }

    /// Look at the log now rather than at the next poll; with `checkBatches`, at the
    /// published batches too (a query saw a newer one).
    public func wake(checkBatches: Bool = false) {
        wake(checkBatches ? .readLogAndBatches : .readLog)
    }

    private func wake(_ wanted: WakeRequest) {
        wakeRequest.withLock { request in request = max(request ?? wanted, wanted) }
    }

    /// Events the group commit just stored, to be folded without reading them back (see the
    /// type's documentation). Cheap: the tailer's task folds them.
    public func handOff(_ batch: LoggedBatch) {
        let kept = pendingHandOffs.withLock { pending in
            // While they are folded, the ones kept for later are out of the count for a moment.
            if pending.events + batch.events.count > configuration.maxHandedOffEvents {
                // The tailer is behind (a start-up rebuild, a slow database): it reads these back.
                pending = HandOffs()
                return false
            }
            pending.batches.append(batch)
            pending.events += batch.events.count
            return true
        }
        wake(kept ? .foldHandedOff : .readLog)
    }

    /// Folds the waiting hand-offs that continue the log from the tail, oldest first (two
    /// writers may hand theirs over in either order), and keeps those that start further on.
    /// - Returns: `gapEnd`, the `previous` of the first one kept: the log must be read up to
    ///   it (events another server committed, or ones whose hand-off was dropped); and
    ///   `readRest`, when the log had been read into the middle of one (it is dropped, and the
    ///   rest of it read back).
    private func foldPendingHandOffs() -> (gapEnd: Int64?, readRest: Bool) {
        var batches = pendingHandOffs.withLock { pending in
            defer { pending = HandOffs() }
            return pending.batches
        }
        batches.sort { $0.previous < $1.previous }
        var kept: [LoggedBatch] = []
        var readRest = false
        for batch in batches {
            let tail = speed.tail
            // Already read back from the log.
            guard let last = batch.events.last, last.seq > tail else { continue }
            if batch.previous == tail {
                speed.fold(batch.events)
                foldedHandedOff.increment(by: batch.events.count)
                handedOffTotal.add(batch.events.count, ordering: .relaxed)
            } else if batch.previous < tail {
                readRest = true
            } else {
                kept.append(batch)
            }
        }
        if !kept.isEmpty {
            let events = kept.reduce(0) { $0 + $1.events.count }
            pendingHandOffs.withLock { pending in
                pending.batches.insert(contentsOf: kept, at: 0)
                pending.events += events
            }
        }
        return (kept.first?.previous, readRest)
    }

    /// Events folded from hand-offs and from reads of the log so far, for tests.
    package var eventsFoldedFromHandOffs: Int { handedOffTotal.load(ordering: .relaxed) }
    package var eventsFoldedFromLog: Int { readBackTotal.load(ordering: .relaxed) }

    /// Folds the waiting hand-offs that continue the log, as the service does when one
    /// arrives, without reading the log: for tests that drive the tailer themselves.
    package func foldHandOffsWithoutReading() {
        if speed.isCaughtUp {
            _ = foldPendingHandOffs()
        } else {
            pendingHandOffs.withLock { $0 = HandOffs() }
        }
    }

    private func readLog(upTo: Int64?) async throws -> Int {
        let events = try await reader.events(after: speed.tail, upTo: upTo, limit: configuration.pageSize)
        speed.fold(events)
        foldedReadBack.increment(by: events.count)
        readBackTotal.add(events.count, ordering: .relaxed)
        return events.count
    }

    public func run() async throws {
        var lastBatchCheck = ContinuousClock.now - configuration.batchCheckInterval
        var readNow = true
        var lastFailureLogged: ContinuousClock.Instant?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                var checkedBatches = false
                if lastBatchCheck.duration(to: .now) >= configuration.batchCheckInterval {
                    try await switchToPublishedBatches()
                    lastBatchCheck = .now
                    checkedBatches = true
                }
                // Until caught up the tail is far behind, and the reads cover the hand-offs.
                var gapEnd: Int64?
                if speed.isCaughtUp {
                    let handed = foldPendingHandOffs()
                    gapEnd = handed.gapEnd
                    if handed.readRest || gapEnd != nil { readNow = true }
                } else {
                    pendingHandOffs.withLock { $0 = HandOffs() }
                    readNow = true
                }
                // While hand-offs arrive, no poll is needed: another server's commit shows as a
                // gap before the next one. A poll comes when none arrived for a poll interval.
                if readNow {
                    // Not past a kept hand-off: the read fills the gap before it, then it is folded.
                    let count = try await readLog(upTo: gapEnd)
                    if count == configuration.pageSize || (gapEnd != nil && count > 0) {
                        readNow = true
                        continue
                    }
                    if let gapEnd, count == 0 {
                        // The log lacks what the hand-offs say precedes them: trust the log.
                        logger.error(
                            "hand-offs do not follow the raw log; reading it instead", metadata: ["tail": "\(speed.tail)", "gap_end": "\(gapEnd)"])
                        pendingHandOffs.withLock { $0 = HandOffs() }
                    }
                }
                if !speed.isCaughtUp && checkedBatches {
                    speed.markCaughtUp()
                    logger.info("speed layer caught up", metadata: ["tail": "\(speed.tail)"])
                }
                lastFailureLogged = nil
            } catch {
                if Task.isCancelled { break }
                if lastFailureLogged.map({ $0.duration(to: .now) > .seconds(30) }) ?? true {
                    logger.warning("speed layer cannot read the raw log; retrying", metadata: ["error": "\(String(reflecting: error))"])
                    lastFailureLogged = .now
                }
                try? await Task.sleep(for: .seconds(1))
                readNow = true
                continue
            }
            // Sleep until woken or the poll interval passes. A wait that ends without a wake-up is
            // a poll, and reads the log; a hand-off alone needs no read; a wake by a query that
            // saw a newer batch also re-reads the batches. (Short slices: cheaper to reason about
            // than a cancellable wait, and 200 timer wake-ups a second cost nothing measurable.)
            let deadline = ContinuousClock.now + configuration.pollInterval
            readNow = true
            while ContinuousClock.now < deadline, !Task.isCancelled {
                if let request = wakeRequest.withLock({ request in
                    defer { request = nil }; return request
                }) {
                    if request == .readLogAndBatches { lastBatchCheck = .now - configuration.batchCheckInterval }
                    readNow = request >= .readLog
                    break
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Switches to the published batches and reads the log to its end, once: for tests and
    /// tools that drive the speed layer without running the service.
    public func catchUp() async throws {
        try await switchToPublishedBatches()
        foldHandOffsWithoutReading()
        while try await readLog(upTo: nil) == configuration.pageSize {}
        speed.markCaughtUp()
    }

    /// Switches each view whose published batch differs from the one served.
    func switchToPublishedBatches() async throws {
        let published = try await PublishedBatch.all(client: client, logger: logger)
        let served = speed.servedBatches
        for view in speed.catalog.views {
            var target = published[view.name]
            if let batch = target, batch.fingerprint != view.fingerprint {
                if warnedGenerations.withLock({ $0.insert(batch.generation).inserted }) {
                    logger.warning(
                        "the published batch of this view was computed from another definition; serving it from the speed layer alone until the next batch run",
                        metadata: ["view": "\(view.name)"])
                }
                target = nil
            }
            guard (served[view.name] ?? nil) != target else { continue }
            try await rebuild(view, with: target)
        }
        if !speed.isCaughtUp {
            // On start, nothing at or below every view's watermark is needed: skip it; but the
            // rolling windows want the recent events there, whatever the watermark.
            let floor = speed.servedBatches.values.map { $0?.watermark ?? 0 }.min() ?? 0
            if !speed.rolling.isLoaded { try await loadRollingWindows(through: floor) }
            speed.setTail(floor)
        }
    }

    /// Reads the events with `seq <= tail` that occurred within the rolling windows' 48 hours
    /// into the rolling store; the events above `tail` reach it through `fold`. Only events
    /// received since the horizon (less the skew and slack) can qualify, so it reads the
    /// primary-key range from the first of those rather than the whole log.
    private func loadRollingWindows(through tail: Int64) async throws {
        let started = ContinuousClock.now
        let rolling = speed.rolling
        let horizon = rolling.horizon
        var views = rolling.emptyViews(horizon: horizon)
        var count = 0
        if tail > 0 && !views.isEmpty {
            let slack = Self.micros(configuration.futureSkew + configuration.receiveSlack)
            var position = try await reader.firstSeq(receivedAtOrAfter: horizon - slack, upTo: tail) - 1
            while position < tail {
                let events = try await reader.events(after: position, upTo: tail, occurredAtOrAfter: horizon, limit: configuration.pageSize)
                let numbers = events.map { EventNumbers($0.event) }
                for name in Array(views.keys) {
                    guard var view = views.removeValue(forKey: name) else { continue }
                    for index in events.indices { view.fold(events[index].event, numbers: numbers[index]) }
                    views[name] = view
                }
                count += events.count
                guard let last = events.last, events.count == configuration.pageSize else { break }
                position = last.seq
            }
        }
        rolling.load(views, through: tail)
        logger.info(
            "rolling windows loaded from the raw log",
            metadata: ["events": "\(count)", "through_seq": "\(tail)", "duration": "\(started.duration(to: .now))"])
    }

    static func micros(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }

    /// Recomputes a view's speed rows from the log above the batch's watermark, then swaps
    /// batch and rows together.
    private func rebuild(_ view: PipelineDefinition, with batch: PublishedBatch?) async throws {
        let tail = speed.tail
        var aggregate = ViewAggregate(definition: view)
        var position = batch?.watermark ?? 0
        while position < tail {
            let events = try await reader.events(after: position, upTo: tail, limit: configuration.pageSize)
            guard let last = events.last else { break }
            for index in events.indices { aggregate.fold(events[index].event) }
            position = last.seq
        }
        speed.install(view: view.name, SpeedLayer.ViewState(batch: batch, aggregate: aggregate), tail: tail)
        logger.info(
            "view switched to a batch",
            metadata: ["view": "\(view.name)", "watermark": "\(batch?.watermark ?? 0)", "speed_events": "\(aggregate.eventCount)"])
    }
}
