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

    var kindDescription: String {
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

/// An event as posted, before validation: every field of the object, loosely typed.
public struct WireEvent: Sendable, Hashable {
    /// Field name to value, in no particular order.
    public var fields: [String: WireValue]
    /// False when the JSON value was not an object at all.
    public var isObject: Bool

    public init(fields: [String: WireValue], isObject: Bool = true) {
        self.fields = fields
        self.isObject = isObject
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
            self.init(fields: [:], isObject: false)
            return
        }
        var fields: [String: WireValue] = [:]
        let keys = container.allKeys
        fields.reserveCapacity(keys.count)
        for key in keys {
            // Known fields are tried as their expected type first: a failed `try` builds an
            // error with its coding path, and valid events should never pay for one.
            if EventFields.integers.contains(key.stringValue) {
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
        self.init(fields: fields)
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
