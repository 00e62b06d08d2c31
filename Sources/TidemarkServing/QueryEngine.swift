import TidemarkBatch
import TidemarkEvents
import TidemarkPipelines
import TidemarkSpeed

/// One row of an answer: bucket (nil without one), the group-by keys, every measure of the
/// view in definition order (derived ones computed after merging and rolling up).
public struct AnswerRow: Sendable, Equatable {
    public var bucket: Int64?
    public var keys: [String]
    public var values: [Int64?]
}

public struct ViewAnswer: Sendable {
    public var definition: PipelineDefinition
    public var query: ViewQuery
    public var batch: PublishedBatch?
    public var watermark: Int64
    /// Events the speed layer held for the view when answering.
    public var speedEvents: Int
    public var rows: [AnswerRow]
}

/// How to sort and cut an answer.
public struct AnswerOrder: Sendable, Hashable {
    public var column: String?
    public var descending: Bool
    public var limit: Int?

    public init(column: String? = nil, descending: Bool = false, limit: Int? = nil) {
        self.column = column
        self.descending = descending
        self.limit = limit
    }
}

/// Answers = batch view at W ⊕ speed increments above W, for the W the speed layer serves.
/// If the batch moved on meanwhile (a run published), the speed layer is told to switch and
/// the query starts over, so no answer mixes two watermarks.
public struct QueryEngine: Sendable {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String { "the batch layer kept changing while the query ran; try again" }
    }

    public let speed: SpeedLayer
    public let tailer: SpeedTailer?
    public let batchReader: BatchReader
    let speedCache = BoundedCache<SpeedPartKey, SpeedPart>(limit: 128)
    let answerCache = BoundedCache<AnswerKey, ViewAnswer>(limit: 256)

    public init(speed: SpeedLayer, tailer: SpeedTailer?, batchReader: BatchReader) {
        self.speed = speed
        self.tailer = tailer
        self.batchReader = batchReader
    }

    public func answer(_ definition: PipelineDefinition, _ query: ViewQuery, order: AnswerOrder = AnswerOrder()) async throws -> ViewAnswer {
        for attempt in 0..<100 {
            if attempt > 0 {
                tailer?.wake(checkBatches: true)
                try await Task.sleep(for: .milliseconds(min(5 * attempt, 50)))
            }
            guard let (batch, watermark) = speed.watermark(of: definition.name) else { break }
            // A whole answer is a function of the query, the batch and the speed state's version.
            let version = speed.read(view: definition.name, ifWatermark: watermark) { $0.version }
            let answerKey = version.map {
                AnswerKey(query: query, order: order, generation: batch?.generation, watermark: watermark, version: $0)
            }
            if let answerKey, let cached = answerCache[answerKey] { return cached }
            let merged: [RowKey: [MeasureState]]
            let speedEvents: Int
            if definition.hasOnHand {
                guard let result = try await mergeByKey(definition, query, batch: batch, watermark: watermark) else { continue }
                (merged, speedEvents) = result
            } else {
                var rows: [RowKey: [MeasureState]] = [:]
                if let batch {
                    guard case .rows(let batchRows) = try await batchReader.rows(of: definition, batch: batch, query: query) else { continue }
                    rows = batchRows
                }
                guard let part = speedPart(definition, query, watermark: watermark) else { continue }
                for (key, states) in part.rows { RollUp.combine(states, into: &rows, at: key) }
                (merged, speedEvents) = (rows, part.events)
            }
            let answer = ViewAnswer(
                definition: definition, query: query, batch: batch, watermark: watermark, speedEvents: speedEvents,
                rows: Self.finish(merged, definition: definition, query: query, order: order))
            if let answerKey, speed.read(view: definition.name, ifWatermark: watermark, { $0.version }) == answerKey.version {
                answerCache.store(answer, for: answerKey)
            }
            return answer
        }
        throw Unavailable()
    }

    /// The speed layer's rows rolled up for a query, cached until the view's speed state
    /// changes (readers of a dashboard ask the same questions between two folds).
    private func speedPart(_ definition: PipelineDefinition, _ query: ViewQuery, watermark: Int64) -> SpeedPart? {
        guard let version = speed.read(view: definition.name, ifWatermark: watermark, { $0.version }) else { return nil }
        if let cached = speedCache[SpeedPartKey(query: query, watermark: watermark, version: version)] { return cached }
        let rollUp = RollUp(definition: definition, query: query)
        // Rolled up under the speed layer's lock: the rows must not change while visited.
        let part = speed.read(view: definition.name, ifWatermark: watermark) { state -> SpeedPart in
            var rows: [RowKey: [MeasureState]] = [:]
            rollUp.accumulate(state.aggregate, into: &rows)
            return SpeedPart(rows: rows, events: state.aggregate.eventCount, version: state.version)
        }
        if let part { speedCache.store(part, for: SpeedPartKey(query: query, watermark: watermark, version: part.version)) }
        return part
    }

    /// For views with `on_hand`: merge batch and speed key by key (on hand is not a sum),
    /// then roll up.
    private func mergeByKey(
        _ definition: PipelineDefinition, _ query: ViewQuery, batch: PublishedBatch?, watermark: Int64
    ) async throws -> ([RowKey: [MeasureState]], Int)? {
        var fullQuery = query
        fullQuery.groupBy = definition.keys
        var batchRows: [RowKey: [MeasureState]] = [:]
        if let batch {
            guard case .rows(let rows) = try await batchReader.rows(of: definition, batch: batch, query: fullQuery) else { return nil }
            batchRows = rows
        }
        let fullRollUp = RollUp(definition: definition, query: fullQuery)
        guard
            let (speedRows, speedEvents) = speed.read(
                view: definition.name, ifWatermark: watermark,
                { state in
                    var rows: [RowKey: [MeasureState]] = [:]
                    fullRollUp.accumulate(state.aggregate, into: &rows)
                    return (rows, state.aggregate.eventCount)
                })
        else { return nil }
        guard let onHandIndex = definition.storedMeasures.firstIndex(where: { $0.kind == .onHand }) else { return nil }
        let storeIndex = definition.keys.firstIndex(of: .storeID) ?? 0
        let productIndex = definition.keys.firstIndex(of: .productID) ?? 1

        // Keys whose speed count is later than the batch's need the batch's movements after it.
        var lookups: [(storeID: String, productID: String, after: Int64)] = []
        var lookupIndex: [RowKey: Int] = [:]
        for (key, states) in speedRows {
            guard case .onHand(let speedPart) = states[onHandIndex], let speedCount = speedPart.count else { continue }
            // A key with no batch row had no events up to the watermark: nothing to look up.
            guard let batchStates = batchRows[key], case .onHand(let batchPart) = batchStates[onHandIndex],
                batchPart.count.map({ speedCount.isLater(than: $0) }) ?? true
            else { continue }
            lookupIndex[key] = lookups.count
            lookups.append((key.keys[storeIndex], key.keys[productIndex], speedCount.at))
        }
        var totals: [Int64] = []
        if let batch, !lookups.isEmpty {
            guard let found = try await batchReader.movementsAfter(lookups, of: definition, batch: batch) else { return nil }
            totals = found
        }

        var merged = batchRows
        for (key, speedStates) in speedRows {
            guard let batchStates = merged[key] else {
                merged[key] = speedStates
                continue
            }
            merged[key] = zip(batchStates, speedStates).map { batchState, speedState in
                if case .onHand(let batchPart) = batchState, case .onHand(let speedPart) = speedState {
                    return .onHand(
                        OnHandState.merge(batch: batchPart, speed: speedPart) { lookupIndex[key].map { totals[$0] } ?? 0 })
                }
                return batchState.combined(with: speedState)
            }
        }
        var result: [RowKey: [MeasureState]] = [:]
        RollUp(definition: definition, query: query).accumulate(merged.lazy.map { (key: $0.key, value: $0.value) }, into: &result)
        return (result, speedEvents)
    }

    /// Final values, derived measures, order and limit.
    static func finish(_ rows: [RowKey: [MeasureState]], definition: PipelineDefinition, query: ViewQuery, order: AnswerOrder) -> [AnswerRow] {
        let hasBucket = query.grain.map { $0 != .all } ?? false
        let measureValues = MeasureValues(definition: definition)
        var answer: [AnswerRow] = rows.map { key, states in
            AnswerRow(bucket: hasBucket ? key.bucket : nil, keys: key.keys, values: measureValues.values(of: states))
        }
        let natural: (AnswerRow, AnswerRow) -> Bool = { a, b in
            if a.bucket != b.bucket { return (a.bucket ?? 0) < (b.bucket ?? 0) }
            return a.keys.lexicographicallyPrecedes(b.keys) { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
        if let column = order.column {
            let measureIndex = definition.measures.firstIndex { $0.name == column }
            let keyIndex = query.groupBy.firstIndex { $0.rawValue == column }
            answer.sort { a, b in
                if let measureIndex {
                    let (x, y) = (a.values[measureIndex], b.values[measureIndex])
                    if x != y {
                        guard let x else { return false }  // nulls last either way
                        guard let y else { return true }
                        return order.descending ? x > y : x < y
                    }
                } else if let keyIndex, a.keys[keyIndex] != b.keys[keyIndex] {
                    let ascending = a.keys[keyIndex].utf8.lexicographicallyPrecedes(b.keys[keyIndex].utf8)
                    return order.descending ? !ascending : ascending
                } else if column == "bucket", a.bucket != b.bucket {
                    return order.descending ? (a.bucket ?? 0) > (b.bucket ?? 0) : (a.bucket ?? 0) < (b.bucket ?? 0)
                }
                return natural(a, b)
            }
        } else {
            answer.sort(by: natural)
        }
        if let limit = order.limit, answer.count > limit { answer.removeLast(answer.count - limit) }
        return answer
    }
}
