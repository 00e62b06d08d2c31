import TidemarkEvents

/// A row's identity: its bucket start (0 when the view has no grain) and its key values in
/// the view's key order.
public struct RowKey: Sendable, Hashable {
    public var bucket: Int64
    public var keys: [String]

    public init(bucket: Int64, keys: [String]) {
        self.bucket = bucket
        self.keys = keys
    }
}

/// One view's aggregates over a set of events, evaluated in Swift from the same definition
/// the batch layer compiles to SQL. The speed layer keeps one per view.
public struct ViewAggregate: Sendable {
    public let definition: PipelineDefinition
    /// Rows by bucket start, then by key values: a time-bounded query visits only its buckets.
    public private(set) var buckets: [Int64: [[String]: [MeasureState]]] = [:]
    /// Events folded in (those the view reads).
    public private(set) var eventCount = 0
    public private(set) var rowCount = 0
    private let plans: [MeasurePlan]

    public init(definition: PipelineDefinition) {
        self.definition = definition
        self.plans = definition.storedMeasures.map(MeasurePlan.init)
    }

    public mutating func fold(_ event: Event) {
        guard definition.source.matches(event) else { return }
        eventCount += 1
        let bucket = definition.grain.bucketStart(event.occurredAt.microsecondsSinceEpoch)
        let keys = definition.keys.map { $0.value(of: event) }
        let plans = self.plans
        let created = buckets[bucket, default: [:]].withRow(keys, initial: { plans.map { MeasureState.initial(for: $0.kind) } }) { states in
            for index in plans.indices { plans[index].fold(event, into: &states[index]) }
        }
        if created { rowCount += 1 }
    }

    /// Every row, for tests and small views.
    public var rows: [RowKey: [MeasureState]] {
        var result: [RowKey: [MeasureState]] = [:]
        for (bucket, rows) in buckets {
            for (keys, states) in rows { result[RowKey(bucket: bucket, keys: keys)] = states }
        }
        return result
    }

    /// Visits the rows whose bucket start is in `[from, to)` (all when unbounded).
    public func forEachRow(from: Int64?, to: Int64?, _ body: (Int64, [String], [MeasureState]) -> Void) {
        for (bucket, rows) in buckets {
            if definition.grain != .none {
                if let from, bucket < from { continue }
                if let to, bucket >= to { continue }
            }
            for (keys, states) in rows { body(bucket, keys, states) }
        }
    }
}

/// A stored measure resolved for evaluation against events.
struct MeasurePlan: Sendable {
    let kind: MeasureKind
    let filter: EventFilter?
    let expression: FieldExpression?

    init(_ measure: MeasureDefinition) {
        kind = measure.kind
        filter = measure.filter
        switch measure.kind {
        case .sum(let e), .min(let e), .max(let e), .latest(let e): expression = FieldExpression(e)
        case .count, .onHand, .derived: expression = nil
        }
    }

    func fold(_ event: Event, into state: inout MeasureState) {
        if let filter, !filter.matches(event) { return }
        switch state {
        case .sum(let total):
            if case .count = kind {
                state = .sum(total &+ 1)
            } else if let value = expression?.evaluate(event) {
                state = .sum(saturatingAdd(total, value))
            }
        case .minimum(let current):
            if let value = expression?.evaluate(event) { state = .minimum(optionalPick(current, value, <)) }
        case .maximum(let current):
            if let value = expression?.evaluate(event) { state = .maximum(optionalPick(current, value, >)) }
        case .latest(let current):
            guard let value = expression?.evaluate(event) else { return }
            let candidate = LatestValue(at: event.occurredAt.microsecondsSinceEpoch, id: event.id, value: value)
            if current.map({ candidate.isLater(than: $0) }) ?? true { state = .latest(candidate) }
        case .onHand(var onHand):
            let at = event.occurredAt.microsecondsSinceEpoch
            switch event.payload {
            case .sale(let line): onHand.add(StockMovement(at: at, delta: -line.quantity))
            case .return(let line): onHand.add(StockMovement(at: at, delta: line.quantity))
            case .stock(.count, let quantity): onHand.add(StockCount(at: at, id: event.id, quantity: quantity))
            case .stock(_, let quantity): onHand.add(StockMovement(at: at, delta: quantity))
            case .price: return
            }
            state = .onHand(onHand)
        }
    }
}

/// A `ValueExpression` over event fields, resolved once so folding does no name lookups.
indirect enum FieldExpression: Sendable {
    case field(EventField)
    case literal(Int64)
    case expression(ValueExpression, [String: EventField])

    init(_ expression: ValueExpression) {
        switch expression {
        case .name(let name): self = EventField(rawValue: name).map(FieldExpression.field) ?? .literal(0)
        case .literal(let value): self = .literal(value)
        default:
            var fields: [String: EventField] = [:]
            for name in expression.names { fields[name] = EventField(rawValue: name) }
            self = .expression(expression, fields)
        }
    }

    func evaluate(_ event: Event) -> Int64? {
        switch self {
        case .field(let field): field.value(of: event)
        case .literal(let value): value
        case .expression(let expression, let fields): expression.evaluate { fields[$0]?.value(of: event) }
        }
    }
}

extension Dictionary where Key == [String], Value == [MeasureState] {
    /// Updates the row in place (no copy of its states); tells whether it was created.
    mutating func withRow(_ key: [String], initial: () -> [MeasureState], _ update: (inout [MeasureState]) -> Void) -> Bool {
        if let index = self.index(forKey: key) {
            update(&values[index])
            return false
        }
        var states = initial()
        update(&states)
        self[key] = states
        return true
    }
}
