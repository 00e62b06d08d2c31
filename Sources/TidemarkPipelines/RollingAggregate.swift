import TidemarkEvents

/// One view's events in one-minute buckets of event time, for exact sliding windows.
///
/// It folds with the view's own measure plans (a `ViewAggregate` of the same definition at
/// minute grain) and rolls windows up with the same `RollUp` and `MeasureValues`, so a window
/// equals the view's answer over the same stretch of time; there is no second evaluator.
/// Minutes before `horizon` are dropped and events that occurred before it are not kept, so
/// memory follows the events of the retained stretch, not history.
public struct RollingAggregate: Sendable {
    public let definition: PipelineDefinition
    public private(set) var minutes: ViewAggregate
    /// The first minute kept (a minute start); it only moves forward.
    public private(set) var horizon: Int64

    public init(definition: PipelineDefinition, horizon: Int64) {
        precondition(Self.canRoll(definition), "\(definition.name) has no rolling windows")
        self.definition = definition
        var perMinute = definition
        perMinute.grain = .minute
        minutes = ViewAggregate(definition: perMinute)
        self.horizon = Grain.minute.bucketStart(horizon)
    }

    /// Views with time buckets (`on_hand`, which is set by counts rather than added up,
    /// requires grain `none`, so none of them has it).
    public static func canRoll(_ definition: PipelineDefinition) -> Bool {
        definition.grain != .none
    }

    public mutating func fold(_ event: Event) {
        fold(event, numbers: EventNumbers(event))
    }

    /// `numbers` must be `EventNumbers(event)`.
    public mutating func fold(_ event: Event, numbers: EventNumbers) {
        guard numbers.occurredAt >= horizon else { return }
        minutes.fold(event, numbers: numbers)
    }

    /// Forgets the minutes before `time` (aligned down to its minute).
    public mutating func evict(before time: Int64) {
        let aligned = Grain.minute.bucketStart(time)
        guard aligned > horizon else { return }
        horizon = aligned
        minutes.removeBuckets(before: aligned)
    }

    public var bucketCount: Int { minutes.buckets.count }
    public var rowCount: Int { minutes.rowCount }

    /// The window and the previous one, rolled up to `groupBy` over the rows that pass
    /// `filters`: one row per key seen in either (a key absent from one window has that
    /// window's empty values: sums 0, the others null). Unordered.
    public func compare(_ window: RollingWindow, groupBy: [KeyField], filters: [KeyField: Set<String>] = [:]) -> [RollingRow] {
        func rollUp(_ from: Int64, _ to: Int64) -> RollUp {
            RollUp(
                definition: minutes.definition,
                query: ViewQuery(view: definition.name, fromBucket: from, toBucket: to, grain: .all, groupBy: groupBy, filters: filters))
        }
        let (current, previous) = (rollUp(window.start, window.end), rollUp(window.previousStart, window.start))
        var currentRows: [RowKey: [MeasureState]] = [:]
        var previousRows: [RowKey: [MeasureState]] = [:]
        minutes.forEachRow(from: window.previousStart, to: window.end) { bucket, keys, states in
            let key = RowKey(bucket: bucket, keys: keys)
            if bucket >= window.start {
                if let target = current.project(key) { RollUp.combine(states, into: &currentRows, at: target) }
            } else if let target = previous.project(key) {
                RollUp.combine(states, into: &previousRows, at: target)
            }
        }
        let values = MeasureValues(definition: definition)
        let types = definition.measures.map(\.valueType)
        let empty = values.empty
        var rows: [RollingRow] = []
        rows.reserveCapacity(currentRows.count + previousRows.count)
        for (key, states) in currentRows {
            let before = previousRows.removeValue(forKey: key).map(values.values(of:)) ?? empty
            rows.append(RollingRow(keys: key.keys, current: values.values(of: states), previous: before, types: types))
        }
        for (key, states) in previousRows {
            rows.append(RollingRow(keys: key.keys, current: empty, previous: values.values(of: states), types: types))
        }
        return rows
    }
}
