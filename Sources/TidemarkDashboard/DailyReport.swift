import Foundation
import TidemarkEvents
import TidemarkPipelines
import TidemarkServing

/// The daily sales report store managers print (the "relatório"): one day, per store and
/// category, with store totals and a grand total, as CSV or as a printable HTML page.
public struct DailyReport: Sendable {
    public struct Line: Sendable, Equatable {
        public var store: String
        public var category: String
        public var values: [Int64]
    }

    /// The measures of the report, in column order.
    static let measures = [
        "units_sold", "units_returned", "net_units", "gross_revenue_cents", "refunds_cents", "net_revenue_cents", "sale_lines",
    ]
    static let headings: [TextKey] = [.units, .unitsReturned, .net, .grossRevenue, .refunds, .revenue, .saleLines]
    static let moneyColumns: Set<Int> = [3, 4, 5]

    public var day: Timestamp
    public var lines: [Line]
    public var watermark: Int64
    public var speedEvents: Int

    /// Reads the day from the merged `sales_by_store_category_hour` view.
    public static func load(day: Timestamp, engine: QueryEngine, catalog: PipelineCatalog, store: String? = nil) async throws -> DailyReport {
        guard let definition = catalog.view(named: DashboardSource.salesView) else {
            throw DashboardSource.MissingView(name: DashboardSource.salesView)
        }
        let start = day.microsecondsSinceEpoch
        let query = ViewQuery(
            view: definition.name, fromBucket: start, toBucket: start + DashboardSource.day, grain: .all, groupBy: [.storeID, .category],
            filters: store.map { [.storeID: [$0]] } ?? [:])
        let answer = try await engine.answer(definition, query)
        let index = Dictionary(uniqueKeysWithValues: definition.measures.enumerated().map { ($1.name, $0) })
        let lines = answer.rows.map { row in
            Line(store: row.keys[0], category: row.keys[1], values: measures.map { name in index[name].flatMap { row.values[$0] } ?? 0 })
        }.sorted { ($0.store, $0.category) < ($1.store, $1.category) }
        return DailyReport(day: day, lines: lines, watermark: answer.watermark, speedEvents: answer.speedEvents)
    }

    var stores: [(store: String, lines: [Line], total: [Int64])] {
        Dictionary(grouping: lines, by: \.store).sorted { $0.key < $1.key }.map { store, lines in (store, lines, Self.sum(lines)) }
    }

    var grandTotal: [Int64] { Self.sum(lines) }

    static func sum(_ lines: [Line]) -> [Int64] {
        lines.reduce(into: Array(repeating: Int64(0), count: measures.count)) { total, line in
            for column in total.indices { total[column] += line.values[column] }
        }
    }

    /// One row per store and category, then a `store_total` row per store and a `total` row;
    /// amounts in cents, like the API.
    public func csv() -> String {
        var out = "date,row,store_id,category," + Self.measures.joined(separator: ",") + "\r\n"
        let date = String(day.rfc3339.prefix(10))
        func row(_ kind: String, _ store: String, _ category: String, _ values: [Int64]) {
            out += [date, kind, csvField(store), csvField(category)].joined(separator: ",") + ","
            out += values.map(String.init).joined(separator: ",") + "\r\n"
        }
        for group in stores {
            for line in group.lines { row("line", line.store, line.category, line.values) }
            row("store_total", group.store, "", group.total)
        }
        row("total", "", "", grandTotal)
        return out
    }

    private func csvField(_ text: String) -> String {
        // Quoted when needed (RFC 4180), and a leading =, +, - or @ defused so a spreadsheet
        // does not run a store name as a formula.
        var value = text
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A page that prints on A4 or Letter: a table per store with its total, and the day's total.
    public func html(language: Language, currency: String) -> String {
        let date = String(day.rfc3339.prefix(10))
        func cells(_ values: [Int64]) -> String {
            values.enumerated().map { column, value in
                let shown = Self.moneyColumns.contains(column) ? language.money(cents: value, currency: currency) : language.number(value)
                return "<td data-value=\"\(value)\">\(escapeHTML(shown))</td>"
            }.joined()
        }
        let heading =
            "<tr><th>\(escapeHTML(language.text(.category)))</th>"
            + Self.headings.map { "<th>\(escapeHTML(language.text($0)))</th>" }.joined() + "</tr>"
        var body = ""
        for group in stores {
            body +=
                "<section class=\"card wide report-store\" data-store=\"\(escapeHTML(group.store))\"><h2>\(escapeHTML(language.text(.store))) \(escapeHTML(group.store))</h2>"
            body += "<div class=\"scroll\"><table><thead>\(heading)</thead><tbody>"
            for line in group.lines {
                body +=
                    "<tr data-category=\"\(escapeHTML(line.category))\"><th scope=\"row\">\(escapeHTML(line.category))</th>\(cells(line.values))</tr>"
            }
            body += "<tr class=\"store-total\"><th scope=\"row\">\(escapeHTML(language.text(.storeTotal)))</th>\(cells(group.total))</tr>"
            body += "</tbody></table></div></section>"
        }
        body += """
            <section class="card wide" id="grand-total"><h2>\(escapeHTML(language.text(.total)))</h2><div class="scroll"><table><thead>\(heading)</thead>
            <tbody><tr class="total"><th scope="row">\(escapeHTML(language.text(.total)))</th>\(cells(grandTotal))</tr></tbody></table></div></section>
            """
        let title = "\(language.text(.reportTitle)) \(date)"
        return """
            <!doctype html>
            <html lang="\(language.rawValue)">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escapeHTML(title))</title><link rel="stylesheet" href="/dashboard/app.css"></head>
            <body>
            <header><h1>\(escapeHTML(title))</h1><p class="as-of">\(escapeHTML(currency)) · watermark \(watermark) · \(speedEvents) speed events</p>
            <nav><a href="/v1/reports/daily\(queryString([("date", date), ("lang", language.other.rawValue), ("format", "html")]))" lang="\(language.other.rawValue)">\(language.other.name)</a>
            <a href="/v1/reports/daily\(queryString([("date", date), ("format", "csv")]))">CSV</a></nav></header>
            <main id="panel">\(body)</main>
            </body>
            </html>
            """
    }
}
