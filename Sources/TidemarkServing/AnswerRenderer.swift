import TidemarkBatch
import TidemarkEvents
import TidemarkPipelines

/// Writes answers as JSON (`{"view", "watermark", "speed_events", "rows"}`) or CSV (one
/// header row of the same names). Written by hand so that columns keep the view's order.
public struct AnswerRenderer: Sendable {
    public init() {}

    public func columns(of answer: ViewAnswer) -> [String] {
        (answer.query.grain.map { $0 != .all } ?? false ? ["bucket"] : []) + answer.query.groupBy.map(\.rawValue)
            + answer.definition.measures.map(\.name)
    }

    public func json(_ answer: ViewAnswer) -> String {
        var out = "{\"view\":"
        JSONText.string(answer.definition.name, into: &out)
        out += ",\"grain\":"
        JSONText.string(answer.query.grain?.name ?? "none", into: &out)
        out += ",\"watermark\":{\"seq\":\(answer.watermark),\"generation\":\(answer.batch.map { String($0.generation) } ?? "null"),\"published_at\":"
        if let batch = answer.batch {
            JSONText.string(Timestamp(microsecondsSinceEpoch: batch.publishedAtMicros).rfc3339, into: &out)
        } else {
            out += "null"
        }
        out += "},\"speed_events\":\(answer.speedEvents),\"rows\":["
        let names = columns(of: answer)
        let types = answer.definition.measures.map(\.valueType)
        for (index, row) in answer.rows.enumerated() {
            if index > 0 { out += "," }
            out += "{"
            var column = 0
            func name() {
                if column > 0 { out += "," }
                JSONText.string(names[column], into: &out)
                out += ":"
                column += 1
            }
            if let bucket = row.bucket {
                name()
                JSONText.string(Timestamp(microsecondsSinceEpoch: bucket).rfc3339, into: &out)
            }
            for key in row.keys {
                name()
                JSONText.string(key, into: &out)
            }
            for (value, type) in zip(row.values, types) {
                name()
                switch (value, type) {
                case (nil, _): out += "null"
                case (let value?, .integer): out += String(value)
                case (let value?, .timestamp): JSONText.string(Timestamp(microsecondsSinceEpoch: value).rfc3339, into: &out)
                }
            }
            out += "}"
        }
        out += "]}"
        return out
    }

    public func csv(_ answer: ViewAnswer) -> String {
        var out = columns(of: answer).map(Self.csvField).joined(separator: ",") + "\r\n"
        let types = answer.definition.measures.map(\.valueType)
        for row in answer.rows {
            var fields: [String] = []
            if let bucket = row.bucket { fields.append(Timestamp(microsecondsSinceEpoch: bucket).rfc3339) }
            fields += row.keys.map(Self.csvField)
            for (value, type) in zip(row.values, types) {
                switch (value, type) {
                case (nil, _): fields.append("")
                case (let value?, .integer): fields.append(String(value))
                case (let value?, .timestamp): fields.append(Timestamp(microsecondsSinceEpoch: value).rfc3339)
                }
            }
            out += fields.joined(separator: ",") + "\r\n"
        }
        return out
    }

    /// RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so spreadsheets do not run it.
    static func csvField(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.reduce(into: "") { $0 += $1 == "\"" ? "\"\"" : String($1) } + "\""
    }
}

enum JSONText {
    static func string(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
