import TidemarkAPI
import TidemarkEvents
import TidemarkPipelines
import TidemarkSpeed

/// Turns `/v1/rolling/{view}?window=&at=&group_by=&<key>=&order_by=&limit=&format=` into a
/// checked `RollingRequest`; every mistake is a 400 in the views endpoint's style.
public struct RollingRequestParser: Sendable {
    public let catalog: PipelineCatalog
    let views: ViewRequestParser
    /// How far past now `at` may be: a little, for clocks that disagree and events posted
    /// with a future `occurred_at` (which validation allows up to 5 minutes ahead by default).
    static let maxFutureMicros: Int64 = 3_600_000_000
    static let defaultWindow = "15m"

    public init(catalog: PipelineCatalog) {
        self.catalog = catalog
        self.views = ViewRequestParser(catalog: catalog)
    }

    /// The views with rolling windows: those with a time grain.
    public var rollingViews: [String] { catalog.views.filter(RollingAggregate.canRoll).map(\.name) }

    public func view(named name: String) throws(APIError) -> PipelineDefinition {
        let definition = try views.view(named: name)
        guard RollingAggregate.canRoll(definition) else {
            throw views.bad(
                "no_rolling_window",
                "view \(name) has no time buckets (grain none), so no rolling windows; the views that have them: \(rollingViews.joined(separator: ", "))",
                rollingViews)
        }
        return definition
    }

    public func parse(
        view definition: PipelineDefinition, parameters: [(key: String, value: String)], now: Timestamp
    ) throws(APIError) -> (request: RollingRequest, format: AnswerFormat) {
        let values = try views.checked(parameters, known: ["window", "at", "group_by", "order_by", "limit", "format"], of: definition)
        let minutes = try windowMinutes(values["window"] ?? Self.defaultWindow)
        let at = try values["at"].map { text throws(APIError) in try views.time(text, parameter: "at", now: now) } ?? now.microsecondsSinceEpoch
        let window = RollingWindow(endingWithMinuteOf: at, minutes: minutes)
        try checkHeld(window, text: values["window"] ?? Self.defaultWindow, now: now.microsecondsSinceEpoch)

        let groupBy = try values["group_by"].map { text throws(APIError) in try views.groupBy(text, of: definition) } ?? definition.keys
        let trendDefault = RollingOrder.defaultMeasure(of: definition)
        var order = RollingOrder(column: .current(trendDefault), descending: true, trendMeasure: trendDefault)
        if let text = values["order_by"] {
            let descending = text.hasPrefix("-")
            let name = descending || text.hasPrefix("+") ? String(text.dropFirst()) : text
            let columns = RollingColumn.all(groupBy: groupBy, definition: definition)
            guard let column = columns.first(where: { $0.name == name })?.column else {
                throw views.bad(
                    "unknown_measure",
                    "cannot order by '\(name)'; valid: \(columns.map(\.name).joined(separator: ", ")) (prefix '-' for descending)",
                    columns.map(\.name))
            }
            order = RollingOrder(column: column, descending: descending, trendMeasure: column.measure ?? trendDefault)
        }
        let request = RollingRequest(
            definition: definition, window: window, groupBy: groupBy, filters: try views.filters(values, of: definition), order: order,
            limit: try views.limit(values["limit"]))
        return (request, try views.format(values["format"]))
    }

    /// `15m`, `90m`, `2h`: whole minutes or hours, from 1 minute to 24 hours, without leading zeros.
    func windowMinutes(_ text: String) throws(APIError) -> Int {
        let scale: Int? =
            switch text.last {
            case "m": 1
            case "h": 60
            default: nil
            }
        let digits = text.dropLast()
        if let scale, digits.first != "0", digits.allSatisfy(\.isASCIIDigit), let amount = Int(digits), amount <= RollingWindow.maxMinutes,
            (1...RollingWindow.maxMinutes).contains(amount * scale)
        {
            return amount * scale
        }
        throw views.bad(
            "invalid_window",
            "window must be a whole number of minutes or hours from 1m to 24h (1m to 1440m, or 1h to 24h), not '\(text)'",
            ["1m", "1440m", "1h", "24h"])
    }

    /// The store keeps 48 hours of minutes, so the previous window must start within them.
    func checkHeld(_ window: RollingWindow, text: String, now: Int64) throws(APIError) {
        let horizon = Grain.minute.bucketStart(now) - RollingStore.retentionMicros
        let earliest = horizon + 2 * window.length - RollingWindow.minuteMicros
        let latest = Grain.minute.bucketStart(now + Self.maxFutureMicros)
        let atMinute = window.end - RollingWindow.minuteMicros
        if window.previousStart >= horizon && atMinute <= latest { return }
        throw views.bad(
            "at_out_of_range",
            "the rolling windows hold the last 48 hours of event time, so with window=\(text) (and the window before it) 'at' must fall in a minute from \(Timestamp(microsecondsSinceEpoch: earliest).rfc3339) to \(Timestamp(microsecondsSinceEpoch: latest).rfc3339)",
            [Timestamp(microsecondsSinceEpoch: earliest).rfc3339, Timestamp(microsecondsSinceEpoch: latest).rfc3339])
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
