/// Reads fields of one posted event, recording an issue for each field that is missing or wrong
/// and counting the fields it read, so that any others can be reported as unexpected.
struct FieldReader {
    private let fields: [String: WireValue]
    /// Fields read so far that were present; the dictionary is never copied or mutated.
    private var presentRead = 0
    private var read: [String] = []
    let index: Int
    var eventID: String?
    private(set) var issues: [ValidationIssue] = []

    init(fields: [String: WireValue], index: Int) {
        self.fields = fields
        self.index = index
        read.reserveCapacity(12)
    }

    mutating func fail(_ field: String, _ message: String) {
        issues.append(ValidationIssue(index: index, id: eventID, field: field, message: message))
    }

    private mutating func take(_ field: String) -> WireValue? {
        read.append(field)
        guard let value = fields[field] else { return nil }
        presentRead += 1
        return value
    }

    /// Marks a field as read without judging it.
    mutating func skip(_ field: String) {
        _ = take(field)
    }

    /// A required, non-empty string without NUL characters (PostgreSQL text cannot hold them).
    mutating func string(_ field: String, maxLength: Int) -> String? {
        guard let value = take(field), value != .null else {
            fail(field, "is required")
            return nil
        }
        return checkedString(field, value, maxLength: maxLength)
    }

    /// An optional string: absent and `null` both mean "not given".
    mutating func optionalString(_ field: String, maxLength: Int) -> String? {
        guard let value = take(field), value != .null else { return nil }
        return checkedString(field, value, maxLength: maxLength)
    }

    private mutating func checkedString(_ field: String, _ value: WireValue, maxLength: Int) -> String? {
        guard case .string(let text) = value else {
            fail(field, "must be a string, got \(value.kindDescription)")
            return nil
        }
        if text.isEmpty {
            fail(field, "must not be empty")
            return nil
        }
        // Scalars never outnumber UTF-8 bytes, so counting them (which walks the string) is
        // needed only for a long text.
        let length = text.utf8.count <= maxLength ? 0 : text.unicodeScalars.count
        if length > maxLength {
            fail(field, "must be at most \(maxLength) characters, got \(length)")
            return nil
        }
        if text.utf8.contains(0) {
            fail(field, "must not contain the NUL character (\\u0000)")
            return nil
        }
        return text
    }

    mutating func oneOf<Choice: RawRepresentable & CaseIterable>(_ field: String, _: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        var allowed: String { Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") }
        guard let text = string(field, maxLength: 64) else {
            if issues.last?.field == field, issues.last?.message == "is required" {
                issues[issues.count - 1].message = "is required: one of \(allowed)"
            }
            return nil
        }
        guard let choice = Choice(rawValue: text) else {
            fail(field, "must be one of \(allowed), got \"\(text)\"")
            return nil
        }
        return choice
    }

    mutating func integer(_ field: String, in range: ClosedRange<Int64>, rule: String) -> Int64? {
        guard let number = requiredInteger(field) else { return nil }
        guard range.contains(number) else {
            if number < range.lowerBound {
                fail(field, "must be an integer \(rule), got \(number)")
            } else {
                fail(field, "must be at most \(range.upperBound), got \(number)")
            }
            return nil
        }
        return number
    }

    mutating func nonZeroInteger(_ field: String, bound: Int64) -> Int64? {
        guard let number = requiredInteger(field) else { return nil }
        guard number != 0 else {
            fail(field, "must be a non-zero integer for an adjustment, got 0")
            return nil
        }
        guard abs(number) <= bound else {
            fail(field, "must be between -\(bound) and \(bound), got \(number)")
            return nil
        }
        return number
    }

    private mutating func requiredInteger(_ field: String) -> Int64? {
        guard let value = take(field), value != .null else {
            fail(field, "is required")
            return nil
        }
        guard case .integer(let number) = value else {
            fail(field, "must be an integer, got \(value.kindDescription)")
            return nil
        }
        return number
    }

    mutating func timestamp(_ field: String, notAfter limit: Timestamp, skew: Int64) -> Timestamp? {
        guard let text = string(field, maxLength: 64) else { return nil }
        do {
            let time = try Timestamp(rfc3339: text)
            guard time <= limit else {
                fail(field, "is more than \(skew) seconds in the future: \(text)")
                return nil
            }
            return time
        } catch {
            fail(field, error.description)
            return nil
        }
    }

    mutating func currency(_ field: String, expected: String) -> String? {
        guard let code = optionalString(field, maxLength: 3) else { return nil }
        guard code == expected else {
            fail(field, "must be \"\(expected)\", the currency of this deployment, got \"\(code)\"")
            return nil
        }
        return code
    }

    /// Reports every field that was not read: unknown names, or names that belong to another type
    /// (a known field set to `null` counts as absent).
    mutating func rejectRemainingFields(type: EventType?) {
        guard presentRead < fields.count else { return }  // the usual case: every field was read
        for (field, value) in fields.sorted(by: { $0.key < $1.key }) where !read.contains(field) {
            if value == .null, EventFields.all.contains(field) { continue }
            if let type, EventFields.all.contains(field) {
                fail(field, "is not allowed for type \"\(type.rawValue)\"")
            } else if type == nil, EventFields.all.contains(field) {
                continue  // the type is already reported; cannot judge fields that depend on it
            } else {
                fail(field, "is not a known field")
            }
        }
    }
}

/// Every field name of wire format v1.
public enum EventFields {
    /// The fields whose values are integers; all others are strings.
    public static let integers: Set<String> = ["quantity", "unit_price_cents", "price_cents"]

    public static let all: Set<String> = [
        "id", "type", "occurred_at", "store_id", "product_id", "quantity", "unit_price_cents", "category",
        "customer_id", "order_id", "channel", "currency", "kind", "price_cents",
    ]
}
