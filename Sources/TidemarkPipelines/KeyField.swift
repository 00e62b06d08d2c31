import TidemarkEvents

/// A field a view can be keyed (grouped) by.
public enum KeyField: String, Sendable, Hashable, CaseIterable {
    case storeID = "store_id"
    case productID = "product_id"
    /// A missing category is `"unknown"`.
    case category
    /// A missing channel is `"unknown"`.
    case channel
    case type

    public static let missingValue = "unknown"

    public func value(of event: Event) -> String {
        switch self {
        case .storeID: event.storeID
        case .productID: event.productID
        case .category: event.saleLine?.category ?? Self.missingValue
        case .channel: event.saleLine?.channel ?? Self.missingValue
        case .type: event.type.rawValue
        }
    }

    /// The same value computed over the raw log's columns (table alias `e`).
    package var sql: String {
        switch self {
        case .storeID: "e.store_id"
        case .productID: "e.product_id"
        case .category: "coalesce(e.category, '\(Self.missingValue)')"
        case .channel: "coalesce(e.channel, '\(Self.missingValue)')"
        case .type: "e.type"
        }
    }
}
