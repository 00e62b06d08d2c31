import TidemarkEvents

/// A field of an event that measures can read.
public enum EventField: String, Sendable, Hashable, CaseIterable {
    case quantity
    case unitPriceCents = "unit_price_cents"
    case priceCents = "price_cents"
    /// A timestamp: usable on its own by `min`, `max` and `latest`, not in arithmetic.
    case occurredAt = "occurred_at"

    /// The field's value, or nil when the event has no such field (the event then adds
    /// nothing to the measure, as SQL aggregates skip NULL).
    public func value(of event: Event) -> Int64? {
        switch (self, event.payload) {
        case (.quantity, .sale(let line)), (.quantity, .return(let line)): line.quantity
        case (.quantity, .stock(_, let quantity)): quantity
        case (.unitPriceCents, .sale(let line)), (.unitPriceCents, .return(let line)): line.unitPriceCents
        case (.priceCents, .price(let cents)): cents
        case (.occurredAt, _): event.occurredAt.microsecondsSinceEpoch
        default: nil
        }
    }

    package var sql: String {
        switch self {
        case .quantity: "e.quantity"
        case .unitPriceCents: "e.unit_price_cents"
        case .priceCents: "e.price_cents"
        case .occurredAt: "e.occurred_at"
        }
    }
}

/// Integer arithmetic over names: event fields in measures, measure names in `derive`.
public indirect enum ValueExpression: Sendable, Hashable {
    case name(String)
    case literal(Int64)
    case negate(ValueExpression)
    case add(ValueExpression, ValueExpression)
    case subtract(ValueExpression, ValueExpression)
    case multiply(ValueExpression, ValueExpression)

    /// Evaluates with `lookup` for names; nil if any name is nil. Overflow saturates, which
    /// validation's bounds on quantities and prices keep out of reach.
    public func evaluate(_ lookup: (String) -> Int64?) -> Int64? {
        switch self {
        case .name(let name): lookup(name)
        case .literal(let value): value
        case .negate(let inner): Self.negated(inner.evaluate(lookup))
        case .add(let l, let r): Self.sum(l.evaluate(lookup), r.evaluate(lookup))
        case .subtract(let l, let r): Self.difference(l.evaluate(lookup), r.evaluate(lookup))
        case .multiply(let l, let r): Self.product(l.evaluate(lookup), r.evaluate(lookup))
        }
    }

    static func negated(_ value: Int64?) -> Int64? {
        guard let value else { return nil }
        return value == .min ? .max : -value
    }

    static func sum(_ left: Int64?, _ right: Int64?) -> Int64? {
        guard let l = left, let r = right else { return nil }
        let (result, overflow) = l.addingReportingOverflow(r)
        return overflow ? (r > 0 ? .max : .min) : result
    }

    static func difference(_ left: Int64?, _ right: Int64?) -> Int64? {
        guard let l = left, let r = right else { return nil }
        let (result, overflow) = l.subtractingReportingOverflow(r)
        return overflow ? (r < 0 ? .max : .min) : result
    }

    static func product(_ left: Int64?, _ right: Int64?) -> Int64? {
        guard let l = left, let r = right else { return nil }
        let (result, overflow) = l.multipliedReportingOverflow(by: r)
        return overflow ? ((l < 0) == (r < 0) ? .max : .min) : result
    }

    /// Every name the expression reads.
    public var names: [String] {
        switch self {
        case .name(let name): [name]
        case .literal: []
        case .negate(let inner): inner.names
        case .add(let l, let r), .subtract(let l, let r), .multiply(let l, let r): l.names + r.names
        }
    }

    /// SQL with each name replaced by `column(name)`.
    package func sql(_ column: (String) -> String) -> String {
        switch self {
        case .name(let name): column(name)
        case .literal(let value): "(\(value))::bigint"
        case .negate(let inner): "(-\(inner.sql(column)))"
        case .add(let l, let r): "(\(l.sql(column)) + \(r.sql(column)))"
        case .subtract(let l, let r): "(\(l.sql(column)) - \(r.sql(column)))"
        case .multiply(let l, let r): "(\(l.sql(column)) * \(r.sql(column)))"
        }
    }

    /// A normal form for fingerprints.
    var canonical: String { sql { $0 } }
}

/// Parses `quantity * unit_price_cents`, `units_sold - units_returned`, `-(a + 2) * b`.
public struct ExpressionParser {
    public struct Failure: Error, Sendable, Equatable {
        public var message: String
    }

    private let characters: [Character]
    private var position = 0

    public static func parse(_ text: String) throws(Failure) -> ValueExpression {
        var parser = ExpressionParser(characters: Array(text))
        let expression = try parser.parseSum()
        parser.skipSpaces()
        guard parser.position == parser.characters.count else {
            throw Failure(message: "unexpected '\(parser.characters[parser.position])' at column \(parser.position + 1) of '\(text)'")
        }
        return expression
    }

    private init(characters: [Character]) {
        self.characters = characters
    }

    private mutating func skipSpaces() {
        while position < characters.count, characters[position] == " " { position += 1 }
    }

    private mutating func peek() -> Character? {
        skipSpaces()
        return position < characters.count ? characters[position] : nil
    }

    private mutating func parseSum() throws(Failure) -> ValueExpression {
        var left = try parseProduct()
        while let next = peek(), next == "+" || next == "-" {
            position += 1
            let right = try parseProduct()
            left = next == "+" ? .add(left, right) : .subtract(left, right)
        }
        return left
    }

    private mutating func parseProduct() throws(Failure) -> ValueExpression {
        var left = try parseFactor()
        while peek() == "*" {
            position += 1
            left = .multiply(left, try parseFactor())
        }
        return left
    }

    private mutating func parseFactor() throws(Failure) -> ValueExpression {
        guard let next = peek() else { throw Failure(message: "the expression ends where a value was expected") }
        if next == "-" {
            position += 1
            return .negate(try parseFactor())
        }
        if next == "(" {
            position += 1
            let inner = try parseSum()
            guard peek() == ")" else { throw Failure(message: "a ')' is missing at column \(position + 1)") }
            position += 1
            return inner
        }
        let start = position
        if next.isNumber {
            while position < characters.count, characters[position].isASCII, characters[position].isNumber { position += 1 }
            guard let value = Int64(String(characters[start..<position])) else {
                throw Failure(message: "the number at column \(start + 1) does not fit in 64 bits")
            }
            return .literal(value)
        }
        while position < characters.count, characters[position].isASCII,
            characters[position].isLetter || characters[position].isNumber || characters[position] == "_"
        {
            position += 1
        }
        guard position > start else { throw Failure(message: "unexpected '\(next)' at column \(start + 1)") }
        return .name(String(characters[start..<position]))
    }
}
