import Foundation
import TidemarkEvents

/// The dashboard as HTML: the whole page, the panel the page refreshes, and the sign-in page.
struct DashboardPage {
    let currency: String
    let signOutEnabled: Bool

    func page(_ snapshot: DashboardSnapshot) -> String {
        let language = snapshot.filter.language
        return document(language: language, title: language.text(.title)) {
            """
            <header>
              <h1>\(escapeHTML(language.text(.title)))</h1>
              \(filters(snapshot))
              <nav>
                <a id="language-switch" lang="\(language.other.rawValue)" href="/dashboard\(queryString(snapshot.filter.parameters(language: language.other)))">\(language.other.name)</a>
                <a id="daily-report" href="/v1/reports/daily\(queryString([("date", snapshot.filter.dayText), ("lang", language.rawValue), ("format", "html")]))">\(escapeHTML(language.text(.dailyReport)))</a>
                \(signOutEnabled ? "<button id=\"sign-out\" type=\"button\">\(escapeHTML(language.text(.signOut)))</button>" : "")
              </nav>
            </header>
            <main id="panel" data-refresh="/dashboard/panel\(queryString(snapshot.filter.parameters()))">\(panel(snapshot))</main>
            """
        }
    }

    private func filters(_ snapshot: DashboardSnapshot) -> String {
        let language = snapshot.filter.language
        func options(_ values: [String], selected: String?, all: TextKey) -> String {
            (["<option value=\"\">\(escapeHTML(language.text(all)))</option>"]
                + values.map { "<option value=\"\(escapeHTML($0))\"\($0 == selected ? " selected" : "")>\(escapeHTML($0))</option>" })
                .joined()
        }
        return """
            <form id="filters" method="get" action="/dashboard">
              <label>\(escapeHTML(language.text(.date))) <input type="date" name="date" value="\(snapshot.filter.dayText)"></label>
              <label>\(escapeHTML(language.text(.store))) <select name="store_id">\(options(snapshot.storeChoices, selected: snapshot.filter.store, all: .allStores))</select></label>
              <label>\(escapeHTML(language.text(.category))) <select name="category">\(options(snapshot.categoryChoices, selected: snapshot.filter.category, all: .allCategories))</select></label>
              <input type="hidden" name="lang" value="\(language.rawValue)">
              <button type="submit">\(escapeHTML(language.text(.apply)))</button>
            </form>
            """
    }

    /// Everything below the header; the page fetches it again every few seconds.
    func panel(_ snapshot: DashboardSnapshot) -> String {
        let language = snapshot.filter.language
        let money = { (cents: Int64) in escapeHTML(language.money(cents: cents, currency: currency)) }
        func kpi(_ id: String, _ title: TextKey, _ value: Int64, _ previous: Int64, _ shown: String) -> String {
            let trend = value > previous ? "up" : value < previous ? "down" : "flat"
            return """
                <section class="kpi" data-kpi="\(id)" data-value="\(value)" data-previous="\(previous)">
                  <h2>\(escapeHTML(language.text(title)))</h2>
                  <p class="value">\(shown)</p>
                  <p class="change \(trend)">\(escapeHTML(language.change(value, against: previous))) <span>\(escapeHTML(language.text(.sameTimeYesterday)))</span></p>
                </section>
                """
        }
        let currentHour =
            snapshot.isToday ? Int((snapshot.asOf.microsecondsSinceEpoch - snapshot.filter.day.microsecondsSinceEpoch) / 3_600_000_000) : nil
        let storeRows = snapshot.stores.map { row in
            """
            <tr data-store="\(escapeHTML(row.store))" data-value="\(row.figures.revenueCents)">
              <th scope="row">\(escapeHTML(row.store))</th><td>\(money(row.figures.revenueCents))</td>
              <td>\(escapeHTML(language.number(row.figures.units)))</td><td>\(escapeHTML(language.number(row.figures.saleLines)))</td>
              <td>\(escapeHTML(language.change(row.figures.revenueCents, against: row.yesterdayRevenueCents)))</td>
            </tr>
            """
        }.joined()
        return """
            <p class="as-of">\(escapeHTML(language.text(.asOf))) <time datetime="\(snapshot.asOf.rfc3339)">\(escapeHTML(snapshot.asOf.rfc3339.replacingOccurrences(of: "T", with: " ").prefix(16) + " UTC"))</time></p>
            <div class="kpis">
            \(kpi("net_revenue_cents", .revenue, snapshot.day.revenueCents, snapshot.yesterday.revenueCents, money(snapshot.day.revenueCents)))
            \(kpi("net_units", .units, snapshot.day.units, snapshot.yesterday.units, escapeHTML(language.number(snapshot.day.units))))
            \(kpi("sale_lines", .saleLines, snapshot.day.saleLines, snapshot.yesterday.saleLines, escapeHTML(language.number(snapshot.day.saleLines))))
            </div>
            <section class="card wide" id="hourly">
              <h2>\(escapeHTML(language.text(.revenueByHour)))</h2>
              <p class="legend"><span class="swatch bar"></span>\(escapeHTML(language.text(.today))) <span class="swatch average"></span>\(escapeHTML(language.text(.sevenDayAverage)))</p>
              \(SVGChart.hourly(snapshot.hourly, average: snapshot.sevenDayAverage, language: language, currency: currency, currentHour: currentHour))
            </section>
            <section class="card" id="top-products">
              <h2>\(escapeHTML(language.text(.topProducts)))</h2>
              <h3>\(escapeHTML(language.text(.thisDay)))</h3>\(SVGChart.ranking(snapshot.topProductsDay, kind: "products-day", language: language, currency: currency))
              <h3>\(escapeHTML(language.text(.lastHour)))</h3>\(SVGChart.ranking(snapshot.topProductsHour, kind: "products-hour", language: language, currency: currency))
            </section>
            <section class="card" id="top-categories">
              <h2>\(escapeHTML(language.text(.topCategories)))</h2>
              <h3>\(escapeHTML(language.text(.thisDay)))</h3>\(SVGChart.ranking(snapshot.topCategoriesDay, kind: "categories-day", language: language, currency: currency))
              <h3>\(escapeHTML(language.text(.lastHour)))</h3>\(SVGChart.ranking(snapshot.topCategoriesHour, kind: "categories-hour", language: language, currency: currency))
            </section>
            <section class="card wide" id="stores">
              <h2>\(escapeHTML(language.text(.perStore)))</h2>
              <div class="scroll"><table>
                <thead><tr><th>\(escapeHTML(language.text(.store)))</th><th>\(escapeHTML(language.text(.revenue)))</th><th>\(escapeHTML(language.text(.units)))</th><th>\(escapeHTML(language.text(.saleLines)))</th><th>\(escapeHTML(language.text(.change)))</th></tr></thead>
                <tbody>\(storeRows)</tbody>
              </table></div>
            </section>
            \(alerts(snapshot))
            \(freshness(snapshot))
            """
    }

    private func alerts(_ snapshot: DashboardSnapshot) -> String {
        let language = snapshot.filter.language
        guard !snapshot.alerts.isEmpty else {
            return
                "<section class=\"card\" id=\"alerts\" data-count=\"0\"><h2>\(escapeHTML(language.text(.alerts)))</h2><p class=\"empty\">\(escapeHTML(language.text(.noAlerts)))</p></section>"
        }
        let rows = snapshot.alerts.map { alert in
            let kind: TextKey =
                switch alert.kind {
                case "stock_out": .stockOut
                case "projected_stock_out": .projectedStockOut
                default: .lowStock
                }
            return """
                <tr class="\(escapeHTML(alert.kind))" data-store="\(escapeHTML(alert.store))" data-product="\(escapeHTML(alert.product))" data-kind="\(escapeHTML(alert.kind))">
                  <td>\(escapeHTML(language.text(kind)))</td><td>\(escapeHTML(alert.store))</td><td>\(escapeHTML(alert.product))</td>
                  <td>\(alert.onHand.map { escapeHTML(language.number($0)) } ?? "—")</td><td>\(alert.reorderPoint.map { escapeHTML(language.number($0)) } ?? "—")</td>
                  <td><time datetime="\(alert.firedAt.rfc3339)">\(escapeHTML(String(alert.firedAt.rfc3339.prefix(16)).replacingOccurrences(of: "T", with: " ")))</time></td>
                </tr>
                """
        }.joined()
        return """
            <section class="card wide" id="alerts" data-count="\(snapshot.alerts.count)">
              <h2>\(escapeHTML(language.text(.alerts))) (\(snapshot.alerts.count))</h2>
              <div class="scroll"><table>
                <thead><tr><th>\(escapeHTML(language.text(.alertKind)))</th><th>\(escapeHTML(language.text(.store)))</th><th>\(escapeHTML(language.text(.product)))</th><th>\(escapeHTML(language.text(.onHand)))</th><th>\(escapeHTML(language.text(.reorderPoint)))</th><th>\(escapeHTML(language.text(.since)))</th></tr></thead>
                <tbody>\(rows)</tbody>
              </table></div>
            </section>
            """
    }

    private func freshness(_ snapshot: DashboardSnapshot) -> String {
        let language = snapshot.filter.language
        let newest = snapshot.newestEventAgeSeconds.map { language.duration(seconds: $0) } ?? language.text(.never)
        let watermark = snapshot.watermarkAgeSeconds.map { language.duration(seconds: $0) } ?? language.text(.noBatchYet)
        return """
            <section class="card" id="freshness">
              <h2>\(escapeHTML(language.text(.freshness)))</h2>
              <dl>
                <dt>\(escapeHTML(language.text(.newestEvent)))</dt><dd data-freshness="newest_event_age_seconds" data-value="\(snapshot.newestEventAgeSeconds.map(String.init) ?? "")">\(escapeHTML(newest))</dd>
                <dt>\(escapeHTML(language.text(.batchWatermark)))</dt><dd data-freshness="watermark_age_seconds" data-value="\(snapshot.watermarkAgeSeconds.map(String.init) ?? "")">\(escapeHTML(watermark))</dd>
                <dt>\(escapeHTML(language.text(.speedEvents)))</dt><dd data-freshness="speed_events" data-value="\(snapshot.speedEvents)">\(escapeHTML(language.number(Int64(snapshot.speedEvents))))</dd>
              </dl>
            </section>
            """
    }

    func signIn(language: Language) -> String {
        document(language: language, title: language.text(.signInTitle)) {
            """
            <main class="sign-in">
              <h1>\(escapeHTML(language.text(.signInTitle)))</h1>
              <p>\(escapeHTML(language.text(.signInHelp)))</p>
              <form method="post" action="/v1/session">
                <label>\(escapeHTML(language.text(.apiKey))) <input type="password" name="key" autocomplete="off" required></label>
                <button type="submit">\(escapeHTML(language.text(.signIn)))</button>
              </form>
              <p><a lang="\(language.other.rawValue)" href="/dashboard?lang=\(language.other.rawValue)">\(language.other.name)</a></p>
            </main>
            """
        }
    }

    private func document(language: Language, title: String, body: () -> String) -> String {
        """
        <!doctype html>
        <html lang="\(language.rawValue)">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>\(escapeHTML(title))</title>
          <link rel="stylesheet" href="/dashboard/app.css">
          <script src="/dashboard/app.js" defer></script>
        </head>
        <body>
        \(body())
        </body>
        </html>
        """
    }
}
