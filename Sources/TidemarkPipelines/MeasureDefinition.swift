/// What a measure computes. Every kind but `derive` is an aggregate whose partial results
/// merge exactly (sums add, min/max compare, latest compares `(occurred_at, id)`), which is
/// what lets the serving layer add the speed layer's increments to the batch view.
public enum MeasureKind: Sendable, Hashable {
    case sum(ValueExpression)
    case count
    case min(ValueExpression)
    case max(ValueExpression)
    /// The value of the event with the greatest `occurred_at` (tie: greatest `id`, byte-wise).
    case latest(ValueExpression)
    /// Stock on hand by DESIGN.md's rule: the latest physical count, plus receipts and
    /// adjustments, minus sales, plus returns that occurred strictly after it.
    case onHand
    /// Arithmetic over other measures of the view, computed after merging and rolling up.
    case derived(ValueExpression)

    public var name: String {
        switch self {
        case .sum: "sum"
        case .count: "count"
        case .min: "min"
        case .max: "max"
        case .latest: "latest"
        case .onHand: "on_hand"
        case .derived: "derive"
        }
    }
}

/// The type of a measure's values in answers.
public enum MeasureValueType: String, Sendable, Hashable {
    case integer
    /// Microseconds since the epoch inside; RFC 3339 in answers.
    case timestamp
}

public struct MeasureDefinition: Sendable, Hashable {
    public var name: String
    public var kind: MeasureKind
    /// Which of the view's events the measure looks at; nil means all of them.
    public var filter: EventFilter?
    public var valueType: MeasureValueType

    public init(name: String, kind: MeasureKind, filter: EventFilter?, valueType: MeasureValueType) {
        self.name = name
        self.kind = kind
        self.filter = filter
        self.valueType = valueType
    }

    /// Whether the measure is stored (in batch tables and speed aggregates) rather than derived.
    public var isStored: Bool {
        if case .derived = kind { return false }
        return true
    }

    var canonical: String {
        let expression: String =
            switch kind {
            case .sum(let e), .min(let e), .max(let e), .latest(let e), .derived(let e): e.canonical
            case .count, .onHand: ""
            }
        return "\(name)=\(kind.name)(\(expression))[\(filter?.canonical ?? "*")]:\(valueType.rawValue)"
    }
}
