/// The four kinds of event a source can post.
public enum EventType: String, Sendable, Hashable, CaseIterable, Codable {
    case sale
    case `return`
    case stock
    case price
}

/// What a `stock` event says about on-hand quantity.
public enum StockKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Goods arrived: quantity > 0 is added.
    case receipt
    /// A signed correction (shrinkage, damage, found stock): quantity != 0 is added.
    case adjustment
    /// A physical count: quantity >= 0 *sets* on-hand at `occurred_at`.
    case count
}

/// The line of a sale or a return.
public struct SaleLine: Sendable, Hashable {
    public var quantity: Int64
    public var unitPriceCents: Int64
    public var category: String?
    public var customerID: String?
    public var orderID: String?
    public var channel: String?
    public var currency: String?

    public init(
        quantity: Int64,
        unitPriceCents: Int64,
        category: String? = nil,
        customerID: String? = nil,
        orderID: String? = nil,
        channel: String? = nil,
        currency: String? = nil
    ) {
        self.quantity = quantity
        self.unitPriceCents = unitPriceCents
        self.category = category
        self.customerID = customerID
        self.orderID = orderID
        self.channel = channel
        self.currency = currency
    }
}

/// The type-specific part of an event; each case holds exactly the fields its type allows.
public enum EventPayload: Sendable, Hashable {
    case sale(SaleLine)
    case `return`(SaleLine)
    case stock(StockKind, quantity: Int64)
    case price(cents: Int64)
}

/// A validated event, as it is stored in the raw log.
public struct Event: Sendable, Hashable {
    /// The client's idempotency key.
    public var id: String
    public var occurredAt: Timestamp
    public var storeID: String
    public var productID: String
    public var payload: EventPayload

    public init(id: String, occurredAt: Timestamp, storeID: String, productID: String, payload: EventPayload) {
        self.id = id
        self.occurredAt = occurredAt
        self.storeID = storeID
        self.productID = productID
        self.payload = payload
    }

    public var type: EventType {
        switch payload {
        case .sale: .sale
        case .return: .return
        case .stock: .stock
        case .price: .price
        }
    }

    public var saleLine: SaleLine? {
        switch payload {
        case .sale(let line), .return(let line): line
        case .stock, .price: nil
        }
    }
}
