import Foundation

/// The names that occur more than once in each event object of a JSON text, for the bodies
/// `JSONDecoder` reads: it keeps the first of two equal keys without a word, and its keyed
/// container lists each name once. `FlatEventScanner` notes repeats itself.
///
/// Only the structure is walked (strings, nesting); the text is already known to be valid
/// JSON. Names are compared as decoded, so `"quantit\u0079"` repeats `"quantity"`.
enum RepeatedKeyFinder {
    /// One list per event: the object itself, or each element of a top-level array (an
    /// element that is not an object gets an empty list).
    static func repeatedKeys(in bytes: UnsafeRawBufferPointer) -> [[String]] {
        var index = 0
        skipWhitespace(bytes, &index)
        guard index < bytes.count else { return [] }
        // Depth of the event objects: 1 for a lone object, 2 inside a top-level array.
        let eventDepth = bytes[index] == UInt8(ascii: "[") ? 2 : 1
        var results: [[String]] = []
        var depth = 0
        var seen: Set<String> = []
        var repeated: [String] = []
        var expectingKey = false
        // Inside the top-level array, before an element: a non-object element gets its empty list.
        var expectingElement = false
        while index < bytes.count {
            let byte = bytes[index]
            if expectingElement, depth == 1, !isWhitespace(byte) {
                expectingElement = false
                if byte != UInt8(ascii: "{") && byte != UInt8(ascii: "]") { results.append([]) }
            }
            switch byte {
            case UInt8(ascii: "\""):
                let start = index + 1
                var escaped = false
                index = start
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { escaped = true }
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if expectingKey, depth == eventDepth {
                    expectingKey = false
                    let quoted = UnsafeRawBufferPointer(rebasing: bytes[(start - 1)..<min(index + 1, bytes.count)])
                    let name = escaped ? unescaped(quoted) : String(decoding: quoted.dropFirst().dropLast(), as: UTF8.self)
                    if !seen.insert(name).inserted, !repeated.contains(name) { repeated.append(name) }
                }
            case UInt8(ascii: "{"):
                depth += 1
                if depth == eventDepth {
                    seen.removeAll(keepingCapacity: true)
                    repeated = []
                    expectingKey = true
                }
            case UInt8(ascii: "}"):
                if depth == eventDepth { results.append(repeated) }
                depth -= 1
            case UInt8(ascii: "["):
                depth += 1
                if depth == 1 { expectingElement = true }
            case UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                if depth == eventDepth { expectingKey = true }
                if depth == 1, eventDepth == 2 { expectingElement = true }
            default:
                break
            }
            index += 1
        }
        return results
    }

    /// A name with escapes, as `JSONDecoder` reads it (rare: the fields of the format have none).
    private static func unescaped(_ quoted: UnsafeRawBufferPointer) -> String {
        (try? JSONDecoder().decode(String.self, from: Data(quoted))) ?? String(decoding: quoted, as: UTF8.self)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func skipWhitespace(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) {
        while index < bytes.count, isWhitespace(bytes[index]) { index += 1 }
    }
}
