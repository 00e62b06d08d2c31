import Foundation

extension Event {
    /// Events as NDJSON in wire format v1, keys sorted so the same events give the same bytes.
    public static func ndjson(_ events: some Sequence<Event>) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = Data()
        for event in events {
            lines.append(try encoder.encode(event))
            lines.append(UInt8(ascii: "\n"))
        }
        return lines
    }
}
