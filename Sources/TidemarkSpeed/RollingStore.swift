import Synchronization
import TidemarkEvents
import TidemarkPipelines
import TidemarkRawLog

/// Minute buckets of the last 48 hours of event time, per view with a time grain, for exact
/// sliding windows of up to 24 hours compared with the 24 hours before.
///
/// Unlike the rest of the speed layer it ignores the batch watermark: it folds every event of
/// the raw log whose `occurred_at` is recent enough, whichever side of `W` its `seq` is on, so
/// a window that straddles `W` is exact by construction and a batch switch leaves it alone.
/// The tailer loads it once from the raw log on start and folds every later event into it;
/// minutes older than 48 hours are evicted as the clock moves.
public final class RollingStore: Sendable {
    /// How much event time is kept: two of the longest windows.
    public static let retentionMicros = 2 * Int64(RollingWindow.maxMinutes) * RollingWindow.minuteMicros

    struct State {
        var views: [String: RollingAggregate]
        /// The highest `seq` folded in (or loaded through); lower ones are already counted.
        var tail: Int64 = 0
        var isLoaded = false
        /// Changes whenever a window's answer could, so answers can be cached by it.
        var version: UInt64 = 0
    }

    public let catalog: PipelineCatalog
    /// The clock that moves the horizon; injected so tests can move time.
    public let now: @Sendable () -> Timestamp
    private let state: Mutex<State>

    public init(catalog: PipelineCatalog, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        self.catalog = catalog
        self.now = now
        state = Mutex(State(views: [:]))
        let views = emptyViews(horizon: horizon)
        state.withLock { $0.views = views }
    }

    /// The views that have rolling windows, by name.
    public var viewNames: [String] { catalog.views.filter(RollingAggregate.canRoll).map(\.name) }

    /// The first minute kept now: 48 hours before the start of the current minute.
    public var horizon: Int64 { Grain.minute.bucketStart(now().microsecondsSinceEpoch) - Self.retentionMicros }

    public var isLoaded: Bool { state.withLock { $0.isLoaded } }
    public var tail: Int64 { state.withLock { $0.tail } }

    /// Empty aggregates of every rolling view, keeping minutes from `horizon` on.
    package func emptyViews(horizon: Int64) -> [String: RollingAggregate] {
        var views: [String: RollingAggregate] = [:]
        for view in catalog.views where RollingAggregate.canRoll(view) {
            views[view.name] = RollingAggregate(definition: view, horizon: horizon)
        }
        return views
    }

    /// Installs what the tailer read from the raw log on start: every recent event with `seq`
    /// up to `tail`. Nothing may have been folded before.
    package func load(_ views: [String: RollingAggregate], through tail: Int64) {
        state.withLock { state in
            precondition(state.tail == 0 && !state.isLoaded, "the rolling windows were loaded after events were folded")
            state.views = views
            state.tail = tail
            state.isLoaded = true
            state.version &+= 1
        }
    }

    /// Evicts the minutes that fell out of the retained 48 hours, then folds the events
    /// (oldest first) that are not in yet.
    package func fold(_ events: [LoggedEvent], numbers: [EventNumbers]? = nil) {
        let horizon = self.horizon
        let numbers = numbers ?? events.map { EventNumbers($0.event) }
        state.withLock { state in
            let fresh = events.indices.drop(while: { events[$0].seq <= state.tail })
            let evicting = state.views.values.contains { $0.horizon < horizon }
            guard evicting || !fresh.isEmpty else { return }
            for name in Array(state.views.keys) {
                // Taken out and put back, so the aggregate is uniquely referenced and changes in place.
                guard var view = state.views.removeValue(forKey: name) else { continue }
                view.evict(before: horizon)
                for index in fresh { view.fold(events[index].event, numbers: numbers[index]) }
                state.views[name] = view
            }
            if let last = fresh.last { state.tail = events[last].seq }
            state.version &+= 1
        }
    }

    /// Reads a view's minute buckets with `body` under the lock (returning the aggregate is a
    /// constant-time copy on write); nil for a view without rolling windows. `isLoaded` is
    /// false while the start-up load is still running.
    public func read<Result>(view: String, _ body: (_ aggregate: RollingAggregate, _ version: UInt64, _ isLoaded: Bool) -> Result) -> Result? {
        state.withLock { state in
            guard let aggregate = state.views[view] else { return nil }
            return body(aggregate, state.version, state.isLoaded)
        }
    }

    /// Minute buckets and rows held per view, for metrics.
    public var sizes: [String: (buckets: Int, rows: Int)] {
        state.withLock { state in state.views.mapValues { ($0.bucketCount, $0.rowCount) } }
    }
}
