/// Reads fields of one posted event, recording an issue for each field that is missing or wrong
/// and marking the fields it read, so that any others can be reported as unexpected.
struct FieldReader {
    private let event: WireEvent
    /// Bit `WireField.rawValue` set once that field was read.
    private var read: UInt32 = 0
    let index: Int
    var eventID: String?
    private(set) var issues: [ValidationIssue] = []

    init(event: WireEvent, index: Int) {
        self.event = event
        self.index = index
    }

    mutating func fail(_ field: WireField, _ message: String) {
        fail(field.name, message)
    }

    mutating func fail(_ field: String, _ message: String) {
        issues.append(ValidationIssue(index: index, id: eventID, field: field, message: message))
    }

    private mutating func take(_ field: WireField) -> WireValue? {
        read |= 1 << field.rawValue
        return event[field]
    }

    /// Marks a field as read without judging it.
    mutating func skip(_ field: WireField) {
        _ = take(field)
    }

    /// A required, non-empty string without NUL characters (PostgreSQL text cannot hold them).
    mutating func string(_ field: WireField, maxLength: Int) -> String? {
        guard let value = take(field), value != .null else {
            fail(field, "is required")
            return nil
        }
        return checkedString(field, value, maxLength: maxLength)
    }

    /// An optional string: absent and `null` both mean "not given".
    mutating func optionalString(_ field: WireField, maxLength: Int) -> String? {
        guard let value = take(field), value != .null else { return nil }
        return checkedString(field, value, maxLength: maxLength)
    }

    private mutating func checkedString(_ field: WireField, _ value: WireValue, maxLength: Int) -> String? {
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

    mutating func oneOf<Choice: RawRepresentable & CaseIterable>(_ field: WireField, _: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        var allowed: String { Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") }
        guard let text = string(field, maxLength: 64) else {
            if issues.last?.field == field.name, issues.last?.message == "is required" {
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

    mutating func integer(_ field: WireField, in range: ClosedRange<Int64>, rule: String) -> Int64? {
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

    mutating func nonZeroInteger(_ field: WireField, bound: Int64) -> Int64? {
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

    private mutating func requiredInteger(_ field: WireField) -> Int64? {
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

    mutating func timestamp(_ field: WireField, notAfter limit: Timestamp, skew: Int64) -> Timestamp? {
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

    mutating func currency(_ field: WireField, expected: String) -> String? {
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
        var remaining: [(name: String, known: Bool, value: WireValue)] = []
        for field in WireField.allCases where read & (1 << field.rawValue) == 0 {
            if let value = event[field] { remaining.append((field.name, true, value)) }
        }
        guard !remaining.isEmpty || !event.unknown.isEmpty else { return }  // the usual case: every field was read
        remaining += event.unknown.map { ($0.key, false, $0.value) }
        for (name, known, value) in remaining.sorted(by: { $0.name < $1.name }) {
            if value == .null, known { continue }
            if let type, known {
                fail(name, "is not allowed for type \"\(type.rawValue)\"")
            } else if type == nil, known {
                continue  // the type is already reported; cannot judge fields that depend on it
            } else {
                fail(name, "is not a known field")
            }
        }
    }
}
