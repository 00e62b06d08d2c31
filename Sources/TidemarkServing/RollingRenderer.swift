import TidemarkEvents
import TidemarkPipelines

/// Writes rolling answers as JSON or CSV with the same column names: the keys, `trend`, then
/// per measure `m` (the window), `m_previous` (the window before) and `m_change` (their difference).
public struct RollingRenderer: Sendable {
    public init() {}

    public func columns(of request: RollingRequest) -> [String] {
        request.groupBy.map(\.rawValue) + ["trend"] + request.definition.measures.flatMap { [$0.name, $0.name + "_previous", $0.name + "_change"] }
    }

    /// `up`, `down` or `flat`: the sign of the trend measure's change (flat when it is null).
    public static func trend(of row: RollingRow, measure: Int) -> String {
        guard let change = row.change[measure] else { return "flat" }
        return change > 0 ? "up" : change < 0 ? "down" : "flat"
    }

    public func json(_ answer: RollingAnswer) -> String {
        let request = answer.request
        let window = request.window
        var out = "{\"view\":"
        JSONText.string(request.definition.name, into: &out)
        out += ",\"window_minutes\":\(window.minutes)"
        for (name, time) in [("from", window.start), ("to", window.end), ("previous_from", window.previousStart)] {
            out += ",\"\(name)\":"
            JSONText.string(Timestamp(microsecondsSinceEpoch: time).rfc3339, into: &out)
        }
        out += ",\"trend_by\":"
        JSONText.string(request.definition.measures[request.order.trendMeasure].name, into: &out)
        out += ",\"total_rows\":\(answer.totalRows),\"rows\":["
        let names = columns(of: request)
        for (index, row) in answer.rows.enumerated() {
            if index > 0 { out += "," }
            out += "{"
            for (column, field) in fields(of: row, request).enumerated() {
                if column > 0 { out += "," }
                JSONText.string(names[column], into: &out)
                out += ":"
                switch field {
                case .text(let text): JSONText.string(text, into: &out)
                case .number(let value): out += String(value)
                case .null: out += "null"
                }
            }
            out += "}"
        }
        out += "]}"
        return out
    }

    public func csv(_ answer: RollingAnswer) -> String {
        var out = columns(of: answer.request).map(AnswerRenderer.csvField).joined(separator: ",") + "\r\n"
        for row in answer.rows {
            out +=
                fields(of: row, answer.request).map { field in
                    switch field {
                    case .text(let text): AnswerRenderer.csvField(text)
                    case .number(let value): String(value)
                    case .null: ""
                    }
                }.joined(separator: ",") + "\r\n"
        }
        return out
    }

    enum Field {
        case text(String)
        case number(Int64)
        case null
    }

    /// A row's values in `columns` order.
    func fields(of row: RollingRow, _ request: RollingRequest) -> [Field] {
        var fields = row.keys.map(Field.text)
        fields.append(.text(Self.trend(of: row, measure: request.order.trendMeasure)))
        for (index, measure) in request.definition.measures.enumerated() {
            for value in [row.current[index], row.previous[index]] {
                switch (value, measure.valueType) {
                case (nil, _): fields.append(.null)
                case (let value?, .integer): fields.append(.number(value))
                case (let value?, .timestamp): fields.append(.text(Timestamp(microsecondsSinceEpoch: value).rfc3339))
                }
            }
            fields.append(row.change[index].map(Field.number) ?? .null)
        }
        return fields
    }
}
