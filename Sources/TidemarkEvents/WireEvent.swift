import Foundation

/// One JSON value of an event field, kept loose so that a wrong type becomes a
/// validation message for that field instead of failing the whole body.
public enum WireValue: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    /// A number that is not an integer, or is outside the 64-bit range.
    case otherNumber
    case bool(Bool)
    case null
    /// An object or an array.
    case composite

    /// How the value's kind is named in messages ("a string", "null", ...).
    public var kindDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .otherNumber: "a number that is not a whole number within 64 bits"
        case .bool: "a boolean"
        case .null: "null"
        case .composite: "an object or array"
        }
    }
}

/// A field of wire format v1, by its slot in `WireEvent`.
public enum WireField: Int, Sendable, CaseIterable {
    case id, type, occurredAt, storeID, productID, quantity, unitPriceCents, category
    case customerID, orderID, channel, currency, kind, priceCents

    public var name: String { Self.names[rawValue] }

    /// Whether the field's values are integers; all others are strings.
    public var isInteger: Bool { self == .quantity || self == .unitPriceCents || self == .priceCents }

    private static let names = [
        "id", "type", "occurred_at", "store_id", "product_id", "quantity", "unit_price_cents", "category",
        "customer_id", "order_id", "channel", "currency", "kind", "price_cents",
    ]
    private static let byName = Dictionary(uniqueKeysWithValues: allCases.map { ($0.name, $0) })
    /// The names' UTF-8 bytes, compared with `memcmp` (a generic `elementsEqual` over
    /// `String.UTF8View` measured at 2% of the server's CPU).
    private static let nameBytes = names.map { Array($0.utf8) }

    public init?(name: String) {
        guard let field = Self.byName[name] else { return nil }
        self = field
    }

    /// The field named by these UTF-8 bytes, compared without building a String or hashing.
    init?(utf8 bytes: UnsafeRawBufferPointer) {
        // The first byte and the length tell the fields apart; the bytes then confirm.
        let candidate: WireField? =
            switch (bytes.count, bytes.first) {
            case (2, UInt8(ascii: "i")?): .id
            case (4, UInt8(ascii: "t")?): .type
            case (11, UInt8(ascii: "o")?): .occurredAt
            case (8, UInt8(ascii: "s")?): .storeID
            case (10, UInt8(ascii: "p")?): .productID
            case (8, UInt8(ascii: "q")?): .quantity
            case (16, UInt8(ascii: "u")?): .unitPriceCents
            case (8, UInt8(ascii: "c")?): bytes[1] == UInt8(ascii: "a") ? .category : .currency
            case (11, UInt8(ascii: "c")?): .customerID
            case (8, UInt8(ascii: "o")?): .orderID
            case (7, UInt8(ascii: "c")?): .channel
            case (4, UInt8(ascii: "k")?): .kind
            case (11, UInt8(ascii: "p")?): .priceCents
            default: nil
            }
        guard let candidate else { return nil }
        let matches = Self.nameBytes[candidate.rawValue].withUnsafeBytes { name in memcmp(name.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
        guard matches else { return nil }
        self = candidate
    }
}

/// An event as posted, before validation: every field of the object, loosely typed.
///
/// The fields of wire format v1 sit in slots by `WireField`, others in a dictionary: a
/// dictionary of every field cost two hashes per field and event (storing, then reading it
/// for validation), about a tenth of the server's CPU on 1,000-event bodies.
public struct WireEvent: Sendable, Hashable {
    /// By `WireField.rawValue`; nil when absent.
    var known: [WireValue?]
    /// Fields that are not part of the format, in no particular order.
    var unknown: [String: WireValue]
    /// False when the JSON value was not an object at all.
    public var isObject: Bool
    /// Names that occur more than once in the object, each once, in order of their second
    /// occurrence; the first value of each is kept, and validation refuses the event.
    public internal(set) var repeatedFields: [String] = []

    public init(fields: [String: WireValue], isObject: Bool = true) {
        self.init(isObject: isObject)
        for (name, value) in fields { self[name] = value }
    }

    init(isObject: Bool = true) {
        known = Array(repeating: nil, count: WireField.allCases.count)
        unknown = [:]
        self.isObject = isObject
    }

    /// Every field, by name.
    public var fields: [String: WireValue] {
        var fields = unknown
        for field in WireField.allCases {
            if let value = known[field.rawValue] { fields[field.name] = value }
        }
        return fields
    }

    subscript(field: WireField) -> WireValue? {
        get { known[field.rawValue] }
        set { known[field.rawValue] = newValue }
    }

    mutating func noteRepeated(_ name: String) {
        if !repeatedFields.contains(name) { repeatedFields.append(name) }
    }

    public subscript(name: String) -> WireValue? {
        get { WireField(name: name).map { self[$0] } ?? unknown[name] }
        set {
            if let field = WireField(name: name) { self[field] = newValue } else { unknown[name] = newValue }
        }
    }
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension WireEvent: Decodable {
    public init(from decoder: any Decoder) throws {
        guard let container = try? decoder.container(keyedBy: AnyCodingKey.self) else {
            self.init(isObject: false)
            return
        }
        var fields = WireEvent()
        for key in container.allKeys {
            // Known fields are tried as their expected type first: a failed `try` builds an
            // error with its coding path, and valid events should never pay for one.
            if WireField(name: key.stringValue)?.isInteger == true {
                // Through Decimal, which keeps every digit: Int64 decoding goes through a
                // Double and would take 1.00000000000000001 for 1.
                if let number = try? container.decode(Decimal.self, forKey: key) {
                    fields[key.stringValue] = Self.integer(exactly: number)
                    continue
                }
            } else if let text = try? container.decode(String.self, forKey: key) {
                fields[key.stringValue] = .string(text)
                continue
            }
            fields[key.stringValue] = Self.decodeValue(container, key)
        }
        self = fields
    }

    /// `.integer` when the number is a whole number inside 64 bits, else `.otherNumber`.
    private static func integer(exactly number: Decimal) -> WireValue {
        var rounded = Decimal()
        var source = number
        NSDecimalRound(&rounded, &source, 0, .plain)
        guard rounded == number, let exact = Int64(rounded.description) else { return .otherNumber }
        return .integer(exact)
    }

    /// Tries the types in the order fields most often have, so the common case costs one attempt.
    private static func decodeValue(_ container: KeyedDecodingContainer<AnyCodingKey>, _ key: AnyCodingKey) -> WireValue {
        if let text = try? container.decode(String.self, forKey: key) { return .string(text) }
        if let number = try? container.decode(Int64.self, forKey: key) { return .integer(number) }
        if (try? container.decodeNil(forKey: key)) == true { return .null }
        if let flag = try? container.decode(Bool.self, forKey: key) { return .bool(flag) }
        if (try? container.decode(Double.self, forKey: key)) != nil { return .otherNumber }
        if (try? container.nestedContainer(keyedBy: AnyCodingKey.self, forKey: key)) != nil { return .composite }
        if (try? container.nestedUnkeyedContainer(forKey: key)) != nil { return .composite }
        return .otherNumber  // a number beyond even a Double, such as 1e400
    }
}
