import Foundation
import TidemarkEvents

/// One posted JSON object (or one row of a file), every field kept with its JSON kind, so a
/// wrong type becomes a message for that field rather than a failed body. `nil` fields means
/// the value was not an object at all.
public struct LooseObject: Sendable, Hashable {
    public var fields: [String: WireValue]?

    public init(fields: [String: WireValue]?) {
        self.fields = fields
    }
}

extension LooseObject: Decodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        guard let container = try? decoder.container(keyedBy: Key.self) else {
            self.init(fields: nil)
            return
        }
        var fields: [String: WireValue] = [:]
        for key in container.allKeys { fields[key.stringValue] = Self.value(container, key) }
        self.init(fields: fields)
    }

    private static func value(_ container: KeyedDecodingContainer<Key>, _ key: Key) -> WireValue {
        if let text = try? container.decode(String.self, forKey: key) { return .string(text) }
        if (try? container.decodeNil(forKey: key)) == true { return .null }
        if let flag = try? container.decode(Bool.self, forKey: key) { return .bool(flag) }
        // Through Decimal, which keeps every digit (Int64 decoding goes through a Double).
        if let number = try? container.decode(Decimal.self, forKey: key) { return integer(exactly: number) }
        return .composite
    }

    /// `.integer` when the number is whole and inside 64 bits, else `.otherNumber`.
    static func integer(exactly number: Decimal) -> WireValue {
        var rounded = Decimal()
        var source = number
        NSDecimalRound(&rounded, &source, 0, .plain)
        guard rounded == number, let exact = Int64(rounded.description) else { return .otherNumber }
        return .integer(exact)
    }
}
