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

/// `EventFilter` as bits, for the per-event test of the speed layer (no hashing).
struct EventMask: Sendable {
    let types: UInt8
    /// 0 when any stock kind passes.
    let kinds: UInt8

    init(_ filter: EventFilter) {
        types = filter.types.reduce(0) { $0 | Self.bit($1) }
        kinds = filter.stockKinds?.reduce(0) { $0 | Self.bit($1) } ?? 0
    }

    static func bit(_ type: EventType) -> UInt8 {
        switch type {
        case .sale: 1
        case .return: 2
        case .stock: 4
        case .price: 8
        }
    }

    static func bit(_ kind: StockKind) -> UInt8 {
        switch kind {
        case .receipt: 1
        case .adjustment: 2
        case .count: 4
        }
    }

    @inline(__always)
    func matches(_ numbers: EventNumbers) -> Bool {
        types & numbers.typeBit != 0 && (numbers.kindBit == 0 || kinds == 0 || kinds & numbers.kindBit != 0)
    }
}
