import TidemarkEvents

/// One episode of a condition: fired once, resolved once the condition cleared.
public struct Alert: Sendable, Hashable {
    public enum State: String, Sendable, CaseIterable {
        case firing
        case resolved
    }

    public var id: Int64
    public var key: AlertKey
    public var state: State
    public var firedAt: Timestamp
    public var resolvedAt: Timestamp?
    /// The numbers when it fired.
    public var figures: AlertFigures
}

/// An alert as JSON, in `GET /v1/alerts` and in webhook bodies.
struct AlertBody: Encodable {
    var id: Int64
    var kind: String
    var storeID: String
    var productID: String
    var state: String
    var firedAt: String
    var resolvedAt: String?
    var onHand: Int64
    var reorderPoint: Int64
    var leadTimeHours: Int64
    var unitsSold24h: Int64
    var hoursOfCover: Double?

    init(_ alert: Alert) {
        id = alert.id
        kind = alert.key.kind.rawValue
        storeID = alert.key.storeID
        productID = alert.key.productID
        state = alert.state.rawValue
        firedAt = alert.firedAt.rfc3339
        resolvedAt = alert.resolvedAt?.rfc3339
        onHand = alert.figures.onHand
        reorderPoint = alert.figures.reorderPoint
        leadTimeHours = alert.figures.leadTimeHours
        unitsSold24h = alert.figures.unitsSold24h
        hoursOfCover = alert.figures.hoursOfCover
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, state
        case storeID = "store_id"
        case productID = "product_id"
        case firedAt = "fired_at"
        case resolvedAt = "resolved_at"
        case onHand = "on_hand"
        case reorderPoint = "reorder_point"
        case leadTimeHours = "lead_time_hours"
        case unitsSold24h = "units_sold_24h"
        case hoursOfCover = "hours_of_cover"
    }

    /// Absent values are written as `null`, so every alert has the same fields.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(storeID, forKey: .storeID)
        try container.encode(productID, forKey: .productID)
        try container.encode(state, forKey: .state)
        try container.encode(firedAt, forKey: .firedAt)
        try container.encode(resolvedAt, forKey: .resolvedAt)
        try container.encode(onHand, forKey: .onHand)
        try container.encode(reorderPoint, forKey: .reorderPoint)
        try container.encode(leadTimeHours, forKey: .leadTimeHours)
        try container.encode(unitsSold24h, forKey: .unitsSold24h)
        try container.encode(hoursOfCover, forKey: .hoursOfCover)
    }
}
