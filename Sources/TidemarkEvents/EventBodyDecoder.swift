import Foundation

/// How a request body frames its events.
public enum EventBodyFormat: Sendable, Equatable {
    /// One JSON object or a JSON array of objects (`application/json`).
    case json
    /// One JSON object per line (`application/x-ndjson`).
    case ndjson
}

/// A body that is not well-formed JSON or NDJSON.
public struct MalformedBody: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// 1-based NDJSON line, when the body is NDJSON.
    public var line: Int?

    public init(message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }

    public var description: String {
        if let line { return "line \(line): \(message)" }
        return message
    }
}

/// Splits a request body into loosely typed events.
public struct EventBodyDecoder: Sendable {
    /// Whether `FlatEventScanner` is tried before `JSONDecoder`; off only to compare the two.
    public var usesFastPath: Bool

    public init(usesFastPath: Bool = true) {
        self.usesFastPath = usesFastPath
    }

    public func decode(_ body: Data, format: EventBodyFormat) throws(MalformedBody) -> [WireEvent] {
        switch format {
        case .json: try decodeJSON(body)
        case .ndjson: try decodeNDJSON(body)
        }
    }

    private func decodeJSON(_ body: Data) throws(MalformedBody) -> [WireEvent] {
        guard let first = body.first(where: { !Self.isWhitespace($0) }) else {
            throw MalformedBody(message: "the body is empty: send a JSON object or an array of objects")
        }
        if usesFastPath, let events = body.withUnsafeBytes(FlatEventScanner.scanJSON) { return events }
        try Self.requireUTF8(body, line: nil)
        var events: [WireEvent]
        do {
            if first == UInt8(ascii: "[") {
                events = try JSONDecoder().decode([WireEvent].self, from: body)
            } else {
                events = [try JSONDecoder().decode(WireEvent.self, from: body)]
            }
        } catch {
            throw MalformedBody(message: Self.describe(error, in: body))
        }
        Self.noteRepeatedKeys(in: body, of: &events)
        return events
    }

    /// What `JSONDecoder` does not tell: names given twice in an event.
    private static func noteRepeatedKeys(in json: Data, of events: inout [WireEvent]) {
        let repeated = json.withUnsafeBytes(RepeatedKeyFinder.repeatedKeys)
        // They differ only where the text is no event at all (a scalar, or an array as an
        // NDJSON line), which validation refuses anyway.
        guard repeated.count == events.count else {
            assert(!events.contains(where: \.isObject), "RepeatedKeyFinder lost count of the events")
            return
        }
        for (index, names) in repeated.enumerated() where events[index].isObject {
            for name in names { events[index].noteRepeated(name) }
        }
    }

    /// Each line on its own: the fast scanner first, `JSONDecoder` for a line it refuses
    /// (and for the message when the line is malformed).
    private func decodeNDJSON(_ body: Data) throws(MalformedBody) -> [WireEvent] {
        let lines = Self.lineRanges(body)
        var events: [WireEvent] = []
        events.reserveCapacity(lines.count)
        let decoder = JSONDecoder()
        for line in lines {
            if usesFastPath {
                let scanned = body.withUnsafeBytes { bytes in
                    let range = (line.range.lowerBound - body.startIndex)..<(line.range.upperBound - body.startIndex)
                    return FlatEventScanner.scanLine(UnsafeRawBufferPointer(rebasing: bytes[range]))
                }
                if let scanned {
                    events.append(scanned)
                    continue
                }
            }
            let text = Data(body[line.range])
            try Self.requireUTF8(text, line: line.number)
            var decoded: [WireEvent]
            do {
                decoded = [try decoder.decode(WireEvent.self, from: text)]
            } catch {
                throw MalformedBody(message: Self.describe(error, in: text), line: line.number)
            }
            Self.noteRepeatedKeys(in: text, of: &decoded)
            events += decoded
        }
        return events
    }

    private struct Line {
        var number: Int
        var range: Range<Data.Index>
    }

    /// Non-blank lines with their 1-based numbers; `\r\n` endings are accepted.
    private static func lineRanges(_ body: Data) -> [Line] {
        body.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> [Line] in
            var lines: [Line] = []
            var start = 0
            var number = 1
            while start < bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                var stop = end
                if stop > start, bytes[stop - 1] == UInt8(ascii: "\r") { stop -= 1 }
                var blank = true
                for offset in start..<stop where !isWhitespace(bytes[offset]) {
                    blank = false
                    break
                }
                if !blank {
                    lines.append(Line(number: number, range: (body.startIndex + start)..<(body.startIndex + stop)))
                }
                start = end + 1
                number += 1
            }
            return lines
        }
    }

    /// JSON text is UTF-8 (RFC 8259). `JSONDecoder` reports a bad byte inside a string as a
    /// type mismatch, which would read as "must be a string", so the bytes are checked first.
    /// Only on the slow path: the fast scanner validates every string it takes.
    private static func requireUTF8(_ data: Data, line: Int?) throws(MalformedBody) {
        var bytes = data.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return
            case .error:
                throw MalformedBody(
                    message: "invalid UTF-8 at byte \(offset + 1)\(line == nil ? "" : " of the line"): JSON text must be UTF-8", line: line)
            }
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Where the JSON broke. `JSONDecoder` does not say; `JSONSerialization` names the byte
    /// ("around character 8"), so the text is parsed again with it, on this error path only.
    private static func describe(_ error: any Error, in data: Data) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            return "invalid JSON: \(detail)"
        }
        if case DecodingError.typeMismatch = error {
            return "invalid JSON: expected an object or an array of objects"
        }
        return "invalid JSON: \(error)"
    }
}
