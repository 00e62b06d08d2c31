import Synchronization
import TidemarkBatch
import TidemarkEvents
import TidemarkPipelines
import TidemarkRawLog

/// The speed layer: per view, the aggregate of every event with `seq` above the watermark
/// of the batch now served for that view. It holds nothing the batch covers, so its memory
/// follows the data since the watermark, not history.
///
/// Only `SpeedTailer` changes it; queries read it under the same lock, so a query sees a
/// view's batch watermark and its speed rows as one consistent pair.
///
/// It also holds the rolling windows (`rolling`), which are fed the same events but keep
/// recent event time regardless of the watermark, under their own lock.
public final class SpeedLayer: Sendable {
    public struct ViewState: Sendable {
        /// The batch this view's speed rows complement; nil when none is usable (then the
        /// speed layer holds the view's whole history).
        public var batch: PublishedBatch?
        public var aggregate: ViewAggregate
        /// Changes whenever the aggregate or the batch changes, so answers can be cached by it.
        public var version: UInt64 = 0

        public var watermark: Int64 { batch?.watermark ?? 0 }
    }

    struct State {
        var views: [String: ViewState]
        /// The highest `seq` folded in.
        var tail: Int64 = 0
        var isCaughtUp = false
    }

    public let catalog: PipelineCatalog
    public let rolling: RollingStore
    private let state: Mutex<State>

    /// `now` is the clock of the rolling windows (tests move it).
    public init(catalog: PipelineCatalog, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        self.catalog = catalog
        self.rolling = RollingStore(catalog: catalog, now: now)
        var views: [String: ViewState] = [:]
        for view in catalog.views { views[view.name] = ViewState(batch: nil, aggregate: ViewAggregate(definition: view)) }
        state = Mutex(State(views: views))
    }

    public var tail: Int64 { state.withLock { $0.tail } }
    public var isCaughtUp: Bool { state.withLock { $0.isCaughtUp } }

    /// The batch each view is served with.
    public var servedBatches: [String: PublishedBatch?] {
        state.withLock { state in state.views.mapValues(\.batch) }
    }

    public func watermark(of view: String) -> (batch: PublishedBatch?, watermark: Int64)? {
        state.withLock { state in state.views[view].map { ($0.batch, $0.watermark) } }
    }

    /// Folds events, oldest first; each view takes those above its watermark, and the rolling
    /// windows every one (they also evict old minutes here, so they are called on idle polls too).
    /// In a server only `SpeedTailer` calls it (its batch switches assume nothing else folds);
    /// public for the micro-benchmarks.
    public func fold(_ events: [LoggedEvent]) {
        let numbers = events.map { EventNumbers($0.event) }
        rolling.fold(events, numbers: numbers)
        guard let last = events.last else { return }
        state.withLock { state in
            for name in Array(state.views.keys) {
                // Taken out and put back, so the aggregate is uniquely referenced and changes in place.
                guard var view = state.views.removeValue(forKey: name) else { continue }
                let before = view.aggregate.eventCount
                // By index, with the numbers taken out once for every view.
                for index in events.indices where events[index].seq > view.watermark {
                    view.aggregate.fold(events[index].event, numbers: numbers[index])
                }
                if view.aggregate.eventCount != before { view.version &+= 1 }
                state.views[name] = view
            }
            state.tail = max(state.tail, last.seq)
        }
    }

    func markCaughtUp() {
        state.withLock { $0.isCaughtUp = true }
    }

    /// Replaces a view's state at once: a batch and the aggregate of every event in
    /// `(batch.watermark, tail]`. The caller guarantees nothing was folded since it read them.
    func install(view: String, _ viewState: ViewState, tail: Int64) {
        state.withLock { state in
            precondition(state.tail == tail, "the speed layer moved while a view was rebuilt")
            var replacement = viewState
            replacement.version = (state.views[view]?.version ?? 0) &+ 1
            state.views[view] = replacement
        }
    }

    func setTail(_ tail: Int64) {
        state.withLock { $0.tail = max($0.tail, tail) }
    }

    /// Reads a view's rows with `body`, if it is still served with `watermark`.
    public func read<Result>(view: String, ifWatermark watermark: Int64, _ body: (ViewState) -> Result) -> Result? {
        state.withLock { state in
            guard let viewState = state.views[view], viewState.watermark == watermark else { return nil }
            return body(viewState)
        }
    }

    /// Events held per view and rows, for metrics and benchmarks.
    public var sizes: [String: (events: Int, rows: Int)] {
        state.withLock { state in state.views.mapValues { ($0.aggregate.eventCount, $0.aggregate.rowCount) } }
    }
}
