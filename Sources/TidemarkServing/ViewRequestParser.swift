import HTTPTypes
import Hummingbird
import TidemarkAPI
import TidemarkEvents
import TidemarkPipelines

/// Answers come as JSON or CSV.
public enum AnswerFormat: String, Sendable {
    case json
    case csv

    /// The answer as a response: JSON, or CSV offered as a download named `filename`.csv.
    func response(filename: String, json: () -> String, csv: () -> String, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        let body: String
        switch self {
        case .json:
            headers[.contentType] = "application/json; charset=utf-8"
            body = json()
        case .csv:
            headers[.contentType] = "text/csv; charset=utf-8; header=present"
            headers[.contentDisposition] = "attachment; filename=\"\(filename).csv\""
            body = csv()
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Turns `/v1/views/{view}?from=&to=&grain=&group_by=&<key>=&order_by=&limit=&format=` into
/// a checked query; every mistake becomes a 400 that names the parameter and lists what is valid.
public struct ViewRequestParser: Sendable {
    public let catalog: PipelineCatalog
    public static let maxLimit = 100_000
    /// How far from now a relative `from` or `to` may reach: 36,500 days.
    static let maxRelativeMicros: Int64 = 36_500 * 86_400_000_000

    public init(catalog: PipelineCatalog) {
        self.catalog = catalog
    }

    public func view(named name: String) throws(APIError) -> PipelineDefinition {
        guard let definition = catalog.view(named: name) else {
            throw APIError(
                .badRequest, code: "unknown_view", message: "there is no view '\(name)'; the views are: \(catalog.names.joined(separator: ", "))",
                details: catalog.names)
        }
        return definition
    }

    public func parse(
        view definition: PipelineDefinition, parameters: [(key: String, value: String)], now: Timestamp, extraParameters: Set<String> = []
    ) throws(APIError) -> (query: ViewQuery, order: AnswerOrder, format: AnswerFormat) {
        let values = try checked(
            parameters, known: Set(["from", "to", "grain", "group_by", "order_by", "limit", "format"]).union(extraParameters), of: definition)

        var query = ViewQuery.everything(of: definition)
        if definition.grain == .none {
            for name in ["from", "to", "grain"] where values[name] != nil {
                throw bad("no_time_grain", "view \(definition.name) has no time buckets (grain none), so '\(name)' does not apply", [])
            }
        } else {
            let grain = definition.grain
            if let text = values["from"] { query.fromBucket = grain.bucketStartAtOrAfter(try time(text, parameter: "from", now: now)) }
            if let text = values["to"] { query.toBucket = grain.bucketStartAtOrAfter(try time(text, parameter: "to", now: now)) }
            if let text = values["grain"] {
                let allowed = QueryGrain.allowed(for: grain)
                guard let asked = QueryGrain(name: text), allowed.contains(asked) else {
                    throw bad(
                        "invalid_grain",
                        "grain '\(text)' is not available for \(definition.name) (grain \(grain.rawValue)); valid: \(allowed.map(\.name).joined(separator: ", "))",
                        allowed.map(\.name))
                }
                query.grain = asked
            }
        }
        if let text = values["group_by"] { query.groupBy = try groupBy(text, of: definition) }
        query.filters = try filters(values, of: definition)

        var order = AnswerOrder()
        if let text = values["order_by"] {
            let descending = text.hasPrefix("-")
            let column = descending ? String(text.dropFirst()) : text.hasPrefix("+") ? String(text.dropFirst()) : text
            let columns = (query.grain.map { $0 == .all } ?? true ? [] : ["bucket"]) + query.groupBy.map(\.rawValue) + definition.measures.map(\.name)
            guard columns.contains(column) else {
                throw bad(
                    "unknown_measure", "cannot order by '\(column)'; valid: \(columns.joined(separator: ", ")) (prefix '-' for descending)", columns)
            }
            order.column = column
            order.descending = descending
        }
        order.limit = try limit(values["limit"])
        return (query, order, try format(values["format"]))
    }

    /// The parameters by name, once each, all of them known: `known` or a key of the view.
    func checked(
        _ parameters: [(key: String, value: String)], known: Set<String>, of definition: PipelineDefinition
    ) throws(APIError) -> [String: String] {
        let known = known.union(definition.keys.map(\.rawValue))
        var values: [String: String] = [:]
        for (key, value) in parameters {
            guard known.contains(key) else {
                throw bad(
                    "unknown_parameter", "unknown query parameter '\(key)'; valid for \(definition.name): \(known.sorted().joined(separator: ", "))",
                    known.sorted())
            }
            guard values[key] == nil else { throw bad("repeated_parameter", "query parameter '\(key)' is given twice", []) }
            values[key] = value
        }
        return values
    }

    /// `group_by`: comma-separated keys of the view, each once; empty for none.
    func groupBy(_ text: String, of definition: PipelineDefinition) throws(APIError) -> [KeyField] {
        var keys: [KeyField] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: true).map(String.init) {
            guard let key = definition.keys.first(where: { $0.rawValue == name }) else {
                throw bad(
                    "unknown_key",
                    "'\(name)' is not a key of \(definition.name); its keys are: \(definition.keys.map(\.rawValue).joined(separator: ", "))",
                    definition.keys.map(\.rawValue))
            }
            if !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    /// The key filters among `values`: comma-separated values per key of the view.
    func filters(_ values: [String: String], of definition: PipelineDefinition) throws(APIError) -> [KeyField: Set<String>] {
        var filters: [KeyField: Set<String>] = [:]
        for key in definition.keys {
            guard let text = values[key.rawValue] else { continue }
            // PostgreSQL text cannot hold NUL, so the batch read would fail (and answer 503); no
            // stored key has one either, since ingest refuses NUL in every string.
            guard !text.utf8.contains(0) else {
                throw bad("invalid_filter", "filter '\(key.rawValue)' contains the NUL character (%00), which no stored value has", [])
            }
            let allowed = Set(text.split(separator: ",", omittingEmptySubsequences: true).map(String.init))
            guard !allowed.isEmpty else { throw bad("empty_filter", "filter '\(key.rawValue)' needs at least one value", []) }
            filters[key] = allowed
        }
        return filters
    }

    func limit(_ text: String?) throws(APIError) -> Int? {
        guard let text else { return nil }
        guard let limit = Int(text), (1...Self.maxLimit).contains(limit) else {
            throw bad("invalid_limit", "limit must be a whole number from 1 to \(Self.maxLimit), not '\(text)'", [])
        }
        return limit
    }

    func format(_ text: String?) throws(APIError) -> AnswerFormat {
        guard let text else { return .json }
        guard let format = AnswerFormat(rawValue: text) else {
            throw bad("invalid_format", "format must be json or csv, not '\(text)'", ["json", "csv"])
        }
        return format
    }

    /// RFC 3339, `now`, or a relative time such as `-15m`, `-24h`, `-7d`, `-30s`.
    func time(_ text: String, parameter: String, now: Timestamp) throws(APIError) -> Int64 {
        if text == "now" { return now.microsecondsSinceEpoch }
        if let sign = text.first, sign == "-" || sign == "+", let unit = text.last {
            let scale: Int64? =
                switch unit {
                case "s": 1_000_000
                case "m": 60_000_000
                case "h": 3_600_000_000
                case "d": 86_400_000_000
                default: nil
                }
            // Bounded in microseconds, not in units: 36,500 days of any unit would overflow Int64 (and trap).
            if let scale, let amount = Int64(text.dropFirst().dropLast()), amount >= 0, amount <= Self.maxRelativeMicros / scale {
                return now.microsecondsSinceEpoch + (sign == "-" ? -1 : 1) * amount * scale
            }
        }
        do {
            return try Timestamp(rfc3339: text).microsecondsSinceEpoch
        } catch {
            throw bad(
                "invalid_time",
                "\(parameter) '\(text)' is neither RFC 3339 (2026-11-21T10:00:00Z) nor relative (now, -15m, -24h, -7d): \(error.description)", [])
        }
    }

    func bad(_ code: String, _ message: String, _ valid: [String]) -> APIError {
        APIError(.badRequest, code: code, message: message, details: valid)
    }
}
