/// Turns posted `WireEvent`s into `Event`s, listing every problem it finds.
public struct EventValidator: Sendable {
    public var rules: ValidationRules

    public init(rules: ValidationRules) {
        self.rules = rules
    }

    /// Validates a whole request: either every event is valid, or the issues of all invalid ones.
    public func validate(_ wireEvents: [WireEvent], now: Timestamp) -> Result<[Event], ValidationFailure> {
        var events: [Event] = []
        events.reserveCapacity(wireEvents.count)
        var issues: [ValidationIssue] = []
        for (index, wire) in wireEvents.enumerated() {
            switch validate(wire, index: index, now: now) {
            case .success(let event): events.append(event)
            case .failure(let failure): issues.append(contentsOf: failure.issues)
            }
        }
        return issues.isEmpty ? .success(events) : .failure(ValidationFailure(issues: issues))
    }

    public func validate(_ wire: WireEvent, index: Int, now: Timestamp) -> Result<Event, ValidationFailure> {
        guard wire.isObject else {
            return .failure(ValidationFailure(issues: [ValidationIssue(index: index, id: nil, field: "", message: "must be a JSON object")]))
        }
        var reader = FieldReader(event: wire, index: index)
        let id = reader.string(.id, maxLength: ValidationRules.maxIDLength)
        reader.eventID = id
        let type = reader.oneOf(.type, EventType.self)
        let occurredAt = reader.timestamp(.occurredAt, notAfter: now.adding(seconds: rules.maxFutureSkewSeconds), skew: rules.maxFutureSkewSeconds)
        let storeID = reader.string(.storeID, maxLength: ValidationRules.maxKeyLength)
        let productID = reader.string(.productID, maxLength: ValidationRules.maxKeyLength)

        var payload: EventPayload?
        switch type {
        case .sale?, .return?:
            let quantity = reader.integer(.quantity, in: 1...ValidationRules.maxSaleQuantity, rule: "greater than 0")
            let unitPrice = reader.integer(.unitPriceCents, in: 0...ValidationRules.maxPriceCents, rule: "at least 0")
            let category = reader.optionalString(.category, maxLength: ValidationRules.maxAttributeLength)
            let customerID = reader.optionalString(.customerID, maxLength: ValidationRules.maxAttributeLength)
            let orderID = reader.optionalString(.orderID, maxLength: ValidationRules.maxAttributeLength)
            let channel = reader.optionalString(.channel, maxLength: ValidationRules.maxAttributeLength)
            let currency = reader.currency(.currency, expected: rules.currency)
            if let quantity, let unitPrice {
                let line = SaleLine(
                    quantity: quantity, unitPriceCents: unitPrice, category: category, customerID: customerID,
                    orderID: orderID, channel: channel, currency: currency)
                payload = type == .sale ? .sale(line) : .return(line)
            }
        case .stock?:
            if let kind = reader.oneOf(.kind, StockKind.self) {
                let bound = ValidationRules.maxStockQuantity
                let quantity: Int64? =
                    switch kind {
                    case .receipt: reader.integer(.quantity, in: 1...bound, rule: "greater than 0 for a receipt")
                    case .count: reader.integer(.quantity, in: 0...bound, rule: "at least 0 for a count")
                    case .adjustment: reader.nonZeroInteger(.quantity, bound: bound)
                    }
                if let quantity { payload = .stock(kind, quantity: quantity) }
            } else {
                reader.skip(.quantity)  // judged once the kind is known; not "unexpected" meanwhile
            }
        case .price?:
            if let cents = reader.integer(.priceCents, in: 0...ValidationRules.maxPriceCents, rule: "at least 0") {
                payload = .price(cents: cents)
            }
        case nil:
            break
        }
        reader.rejectRemainingFields(type: type)
        // Two values for one field leave the event ambiguous: a till that sends "quantity"
        // twice must hear about it, not have one of them stored.
        for name in wire.repeatedFields { reader.fail(name, "appears more than once in the event; send each field once") }

        guard reader.issues.isEmpty, let id, let occurredAt, let storeID, let productID, let payload else {
            return .failure(ValidationFailure(issues: reader.issues))
        }
        return .success(Event(id: id, occurredAt: occurredAt, storeID: storeID, productID: productID, payload: payload))
    }
}

/// Every issue of a request that cannot be stored.
public struct ValidationFailure: Error, Sendable, Equatable {
    public var issues: [ValidationIssue]
    public init(issues: [ValidationIssue]) { self.issues = issues }
}
