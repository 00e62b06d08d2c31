import TidemarkEvents

/// Which events a view or a measure looks at: event types and, for stock events, kinds.
public struct EventFilter: Sendable, Hashable {
    public var types: Set<EventType>
    /// When set, only stock events of these kinds (and `types` is exactly `[stock]`).
    public var stockKinds: Set<StockKind>?

    public init(types: Set<EventType>, stockKinds: Set<StockKind>? = nil) {
        self.types = types
        self.stockKinds = stockKinds
    }

    public func matches(_ event: Event) -> Bool {
        guard types.contains(event.type) else { return false }
        guard let stockKinds else { return true }
        if case .stock(let kind, _) = event.payload { return stockKinds.contains(kind) }
        return false
    }

    /// The same test over the raw log's columns (table alias `e`).
    package var sql: String {
        let types = self.types.map(\.rawValue).sorted().map { "'\($0)'" }.joined(separator: ", ")
        var text = "e.type IN (\(types))"
        if let stockKinds {
            let kinds = stockKinds.map(\.rawValue).sorted().map { "'\($0)'" }.joined(separator: ", ")
            text += " AND e.stock_kind IN (\(kinds))"
        }
        return text
    }

    var canonical: String {
        let types = self.types.map(\.rawValue).sorted().joined(separator: ",")
        guard let stockKinds else { return types }
        return types + "/" + stockKinds.map(\.rawValue).sorted().joined(separator: ",")
    }
}
