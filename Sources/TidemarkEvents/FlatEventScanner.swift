/// A fast path for the common body: flat JSON objects whose values are strings, numbers,
/// booleans or null. It returns nil for anything else, and for any syntax it is not sure of,
/// and the caller then uses `JSONDecoder`, which also writes the error messages.
///
/// Why hand-written: `JSONDecoder` (through `Codable`) measured at about half of the
/// server's CPU on 1,000-event bodies, 5 µs per event. This scanner reads each object once,
/// without building containers or coding paths. Its results are checked against
/// `JSONDecoder` on generated bodies (`FlatEventScannerTests`).
struct FlatEventScanner {
    private let bytes: UnsafeRawBufferPointer
    private var index: Int

    private init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) {
        self.bytes = bytes
        self.index = start
    }

    /// Scans one object or an array of objects, with nothing else around them but whitespace.
    static func scanJSON(_ bytes: UnsafeRawBufferPointer) -> [WireEvent]? {
        var scanner = FlatEventScanner(bytes)
        scanner.skipWhitespace()
        var events: [WireEvent] = []
        if scanner.peek == UInt8(ascii: "[") {
            scanner.index += 1
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: "]") {
                scanner.index += 1
            } else {
                while true {
                    guard let event = scanner.scanObject() else { return nil }
                    events.append(event)
                    scanner.skipWhitespace()
                    guard let next = scanner.peek else { return nil }
                    scanner.index += 1
                    if next == UInt8(ascii: "]") { break }
                    guard next == UInt8(ascii: ",") else { return nil }
                    scanner.skipWhitespace()
                }
            }
        } else {
            guard let event = scanner.scanObject() else { return nil }
            events.append(event)
        }
        scanner.skipWhitespace()
        return scanner.index == bytes.count ? events : nil
    }

    /// Scans a line that must hold exactly one object.
    static func scanLine(_ bytes: UnsafeRawBufferPointer) -> WireEvent? {
        var scanner = FlatEventScanner(bytes)
        scanner.skipWhitespace()
        guard let event = scanner.scanObject() else { return nil }
        scanner.skipWhitespace()
        return scanner.index == bytes.count ? event : nil
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    private mutating func expect(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    private mutating func scanObject() -> WireEvent? {
        guard expect(UInt8(ascii: "{")) else { return nil }
        var event = WireEvent()
        skipWhitespace()
        if expect(UInt8(ascii: "}")) { return event }
        while true {
            skipWhitespace()
            guard let key = scanKey() else { return nil }
            skipWhitespace()
            guard expect(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            guard let value = scanValue() else { return nil }
            // A repeated key keeps its first value, as JSONDecoder does, and is noted for
            // validation to refuse.
            switch key {
            case .known(let field):
                if event[field] == nil { event[field] = value } else { event.noteRepeated(field.name) }
            case .other(let name):
                if event[name] == nil { event[name] = value } else { event.noteRepeated(name) }
            }
            skipWhitespace()
            if expect(UInt8(ascii: ",")) { continue }
            guard expect(UInt8(ascii: "}")) else { return nil }
            return event
        }
    }

    private enum Key {
        case known(WireField)
        case other(String)
    }

    /// A field name: a field of the format is recognised from its bytes, with no String made.
    private mutating func scanKey() -> Key? {
        let start = index
        guard expect(UInt8(ascii: "\"")) else { return nil }
        var end = index
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\""), let field = WireField(utf8: UnsafeRawBufferPointer(rebasing: bytes[index..<end])) {
            index = end + 1
            return .known(field)
        }
        index = start
        return scanString().map(Key.other)
    }

    private mutating func scanValue() -> WireValue? {
        guard let first = peek else { return nil }
        switch first {
        case UInt8(ascii: "\""): return scanString().map(WireValue.string)
        case UInt8(ascii: "t"): return scanLiteral("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return scanLiteral("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return scanLiteral("null") ? .null : nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return scanNumber()
        default: return nil  // nested objects and arrays: left to JSONDecoder
        }
    }

    private mutating func scanLiteral(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// Integer literals: those that fit in 64 bits are `.integer`, larger ones `.otherNumber`.
    /// Fractions and exponents are left to JSONDecoder, which reads `1.0` and `1e2` as integers.
    private mutating func scanNumber() -> WireValue? {
        let start = index
        let negative = expect(UInt8(ascii: "-"))
        guard let firstDigit = peek, firstDigit >= UInt8(ascii: "0"), firstDigit <= UInt8(ascii: "9") else { return nil }
        var magnitude: UInt64 = 0
        var overflow = false
        if firstDigit == UInt8(ascii: "0") {
            index += 1
        } else {
            while let digit = peek, digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") {
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
                overflow = overflow || o1 || o2
                magnitude = sum
                index += 1
            }
        }
        if peek == UInt8(ascii: ".") || peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") { return nil }
        guard index > start else { return nil }
        guard !overflow else { return .otherNumber }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return .otherNumber }
            return .integer(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
        }
        guard magnitude <= UInt64(Int64.max) else { return .otherNumber }
        return .integer(Int64(magnitude))
    }

    /// A string without escapes is taken as is (after UTF-8 validation); one with escapes is
    /// decoded here for the simple escapes and left to JSONDecoder for `\u`.
    private mutating func scanString() -> String? {
        guard expect(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var hasEscapes = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { return nil }  // control characters must be escaped
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                index += 1
            }
            index += 1
        }
        guard index < bytes.count else { return nil }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        index += 1  // the closing quote
        guard hasEscapes else { return Self.string(raw.bindMemory(to: UInt8.self)) }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(raw.count)
        var position = 0
        while position < raw.count {
            let byte = raw[position]
            guard byte == UInt8(ascii: "\\") else {
                unescaped.append(byte)
                position += 1
                continue
            }
            guard position + 1 < raw.count else { return nil }
            switch raw[position + 1] {
            case UInt8(ascii: "\""): unescaped.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): unescaped.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): unescaped.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): unescaped.append(0x08)
            case UInt8(ascii: "f"): unescaped.append(0x0C)
            case UInt8(ascii: "n"): unescaped.append(0x0A)
            case UInt8(ascii: "r"): unescaped.append(0x0D)
            case UInt8(ascii: "t"): unescaped.append(0x09)
            default: return nil  // \u escapes (and invalid ones): JSONDecoder decides
            }
            position += 2
        }
        return unescaped.withUnsafeBufferPointer(Self.string)
    }

    /// The bytes as a String, or nil if they are not UTF-8. ASCII, nearly every field of
    /// every event, is checked here and decoded without validation: `String(validating:)`
    /// is generic and, unspecialised, looked up its type metadata on every call (about 6% of
    /// the server's CPU on 1,000-event bodies).
    private static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var combined: UInt8 = 0
        for byte in bytes { combined |= byte }
        if combined < 0x80 { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }
}
