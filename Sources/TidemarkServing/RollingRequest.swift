import TidemarkPipelines

/// What `/v1/rolling/{view}` asks: a window, its keys and filters, and a top-N.
public struct RollingRequest: Sendable, Hashable {
    public var definition: PipelineDefinition
    public var window: RollingWindow
    /// Output keys, in the order asked for.
    public var groupBy: [KeyField]
    public var filters: [KeyField: Set<String>]
    public var order: RollingOrder
    public var limit: Int?

    public init(
        definition: PipelineDefinition, window: RollingWindow, groupBy: [KeyField], filters: [KeyField: Set<String>], order: RollingOrder,
        limit: Int?
    ) {
        self.definition = definition
        self.window = window
        self.groupBy = groupBy
        self.filters = filters
        self.order = order
        self.limit = limit
    }
}

/// An answer column: a key, or a measure over the window, over the previous window, or their difference.
public enum RollingColumn: Sendable, Hashable {
    /// A position in `groupBy`.
    case key(Int)
    /// A position in the view's measures.
    case current(Int)
    case previous(Int)
    case change(Int)

    /// The measure the column shows, if any.
    public var measure: Int? {
        switch self {
        case .key: nil
        case .current(let m), .previous(let m), .change(let m): m
        }
    }

    /// Every column a request can name, with its name: keys, then per measure `m`,
    /// `m_previous`, `m_change`.
    public static func all(groupBy: [KeyField], definition: PipelineDefinition) -> [(name: String, column: RollingColumn)] {
        groupBy.enumerated().map { ($1.rawValue, .key($0)) }
            + definition.measures.enumerated().flatMap { index, measure in
                [(measure.name, .current(index)), (measure.name + "_previous", .previous(index)), (measure.name + "_change", .change(index))]
            }
    }
}

/// How rows are sorted, and which measure's change gives `trend`.
public struct RollingOrder: Sendable, Hashable {
    public var column: RollingColumn
    public var descending: Bool
    /// The measure whose change says up, down or flat: the ordered one, else the default.
    public var trendMeasure: Int

    public init(column: RollingColumn, descending: Bool, trendMeasure: Int) {
        self.column = column
        self.descending = descending
        self.trendMeasure = trendMeasure
    }

    /// `net_revenue_cents` when the view has it, else its first integer measure (else its first).
    public static func defaultMeasure(of definition: PipelineDefinition) -> Int {
        definition.measures.firstIndex { $0.name == "net_revenue_cents" } ?? definition.measures.firstIndex { $0.valueType == .integer } ?? 0
    }
}
