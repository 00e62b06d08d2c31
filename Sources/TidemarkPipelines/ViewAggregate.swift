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
    /// Each stored measure's state before any event.
    private let initialStates: [MeasureState]
    /// Per plan, its expression when too long for a `FieldProgram` (kept out of the plans,
    /// which must hold no references).
    private let longExpressions: [FieldExpression?]
    private let source: EventMask
    /// The key values of the event being folded, kept between events so that folding into an
    /// existing row allocates nothing (a new row keeps a copy).
    private var keyScratch: [String] = []

    public init(definition: PipelineDefinition) {
        self.definition = definition
        self.plans = definition.storedMeasures.map(MeasurePlan.init)
        self.initialStates = definition.storedMeasures.map { MeasureState.initial(for: $0.kind) }
        self.longExpressions = definition.storedMeasures.map { measure in
            switch measure.kind {
            case .sum(let e), .min(let e), .max(let e), .latest(let e):
                let expression = FieldExpression(e)
                return FieldProgram(expression) == nil ? expression : nil
            case .count, .onHand, .derived: return nil
            }
        }
        self.source = EventMask(definition.source)
    }

    public mutating func fold(_ event: Event) {
        fold(event, numbers: EventNumbers(event))
    }

    /// `numbers` must be `EventNumbers(event)`: callers folding one event into many views take
    /// them out once.
    public mutating func fold(_ event: Event, numbers: EventNumbers) {
        guard source.matches(numbers) else { return }
        eventCount += 1
        let bucket = definition.grain.bucketStart(numbers.occurredAt)
        keyScratch.removeAll(keepingCapacity: true)
        for field in definition.keys { keyScratch.append(field.value(of: event)) }
        let keys = keyScratch
        let (plans, initialStates, longExpressions) = (self.plans, self.initialStates, self.longExpressions)
        let created = buckets[bucket, default: [:]].withRow(keys, initial: { initialStates }) { states in
            for index in plans.indices { plans[index].fold(event, numbers, longExpression: longExpressions[index], into: &states[index]) }
        }
        if created { rowCount += 1 }
    }

    /// Drops every bucket that starts before `start` (rolling windows forget old minutes so).
    /// `eventCount` still counts the events of dropped buckets.
    public mutating func removeBuckets(before start: Int64) {
        // Collected first: removing while iterating `keys` would copy the dictionary.
        for bucket in buckets.keys.filter({ $0 < start }) {
            rowCount -= buckets.removeValue(forKey: bucket)?.count ?? 0
        }
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
///
/// Plain data only: the plan is copied for every measure of every event, and a plan holding
/// the measure's kind and expression tree cost a retain and a release of each on every copy.
/// An expression too long for a `FieldProgram` is passed to `fold` beside it.
struct MeasurePlan: Sendable {
    let isCount: Bool
    let filter: EventMask?
    let program: FieldProgram?

    init(_ measure: MeasureDefinition) {
        filter = measure.filter.map(EventMask.init)
        if case .count = measure.kind { isCount = true } else { isCount = false }
        switch measure.kind {
        case .sum(let e), .min(let e), .max(let e), .latest(let e): program = FieldProgram(FieldExpression(e))
        case .count, .onHand, .derived: program = nil
        }
    }

    func fold(_ event: Event, _ numbers: EventNumbers, longExpression: FieldExpression?, into state: inout MeasureState) {
        if let filter, !filter.matches(numbers) { return }
        func evaluate(_ numbers: EventNumbers) -> Int64? {
            if let program { return program.evaluate(numbers) }
            return longExpression?.evaluate(numbers)
        }
        switch state {
        case .sum(let total):
            if isCount {
                state = .sum(total &+ 1)
            } else if let value = evaluate(numbers) {
                state = .sum(saturatingAdd(total, value))
            }
        case .minimum(let current):
            if let value = evaluate(numbers) { state = .minimum(optionalPick(current, value, <)) }
        case .maximum(let current):
            if let value = evaluate(numbers) { state = .maximum(optionalPick(current, value, >)) }
        case .latest(let current):
            guard let value = evaluate(numbers) else { return }
            let candidate = LatestValue(at: numbers.occurredAt, id: event.id, value: value)
            if current.map({ candidate.isLater(than: $0) }) ?? true { state = .latest(candidate) }
        case .onHand:
            Self.foldOnHand(event, into: &state)
        }
    }

    /// Outside the `switch` over `state`: a switch keeps its subject (and so the boxed
    /// movements) alive to its end, which would copy the movements on every append.
    private static func foldOnHand(_ event: Event, into state: inout MeasureState) {
        guard case .onHand(var onHand) = state else { return }
        state = .sum(0)  // drop the box's reference: the movements are now ours alone
        defer { state = .onHand(onHand) }
        let at = event.occurredAt.microsecondsSinceEpoch
        switch event.payload {
        case .sale(let line): onHand.add(StockMovement(at: at, delta: -line.quantity))
        case .return(let line): onHand.add(StockMovement(at: at, delta: line.quantity))
        case .stock(.count, let quantity): onHand.add(StockCount(at: at, id: event.id, quantity: quantity))
        case .stock(_, let quantity): onHand.add(StockMovement(at: at, delta: quantity))
        case .price: break
        }
    }
}

/// A `ValueExpression` over event fields, resolved once so folding does no name lookups.
indirect enum FieldExpression: Sendable {
    case field(EventField)
    case literal(Int64)
    case negate(FieldExpression)
    case add(FieldExpression, FieldExpression)
    case subtract(FieldExpression, FieldExpression)
    case multiply(FieldExpression, FieldExpression)

    init(_ expression: ValueExpression) {
        switch expression {
        case .name(let name): self = EventField(rawValue: name).map(FieldExpression.field) ?? .literal(0)
        case .literal(let value): self = .literal(value)
        case .negate(let inner): self = .negate(FieldExpression(inner))
        case .add(let l, let r): self = .add(FieldExpression(l), FieldExpression(r))
        case .subtract(let l, let r): self = .subtract(FieldExpression(l), FieldExpression(r))
        case .multiply(let l, let r): self = .multiply(FieldExpression(l), FieldExpression(r))
        }
    }

    /// The same arithmetic as `ValueExpression.evaluate` (nil propagates, overflow saturates).
    func evaluate(_ numbers: EventNumbers) -> Int64? {
        switch self {
        case .field(let field): return numbers.value(of: field)
        case .literal(let value): return value
        case .negate(let inner): return ValueExpression.negated(inner.evaluate(numbers))
        case .add(let l, let r): return ValueExpression.sum(l.evaluate(numbers), r.evaluate(numbers))
        case .subtract(let l, let r): return ValueExpression.difference(l.evaluate(numbers), r.evaluate(numbers))
        case .multiply(let l, let r): return ValueExpression.product(l.evaluate(numbers), r.evaluate(numbers))
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
