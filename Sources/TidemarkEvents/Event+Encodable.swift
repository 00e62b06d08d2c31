/// Encodes an event in wire format v1, the inverse of `EventValidator`.
extension Event: Encodable {
    private enum Key: String, CodingKey {
        case id, type, occurredAt = "occurred_at", storeID = "store_id", productID = "product_id", quantity
        case unitPriceCents = "unit_price_cents", category, customerID = "customer_id", orderID = "order_id"
        case channel, currency, kind, priceCents = "price_cents"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(occurredAt.rfc3339, forKey: .occurredAt)
        try container.encode(storeID, forKey: .storeID)
        try container.encode(productID, forKey: .productID)
        switch payload {
        case .sale(let line), .return(let line):
            try container.encode(line.quantity, forKey: .quantity)
            try container.encode(line.unitPriceCents, forKey: .unitPriceCents)
            try container.encodeIfPresent(line.category, forKey: .category)
            try container.encodeIfPresent(line.customerID, forKey: .customerID)
            try container.encodeIfPresent(line.orderID, forKey: .orderID)
            try container.encodeIfPresent(line.channel, forKey: .channel)
            try container.encodeIfPresent(line.currency, forKey: .currency)
        case .stock(let kind, let quantity):
            try container.encode(kind, forKey: .kind)
            try container.encode(quantity, forKey: .quantity)
        case .price(let cents):
            try container.encode(cents, forKey: .priceCents)
        }
    }
}
