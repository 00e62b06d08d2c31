import Foundation
import Testing
import TidemarkEvents
import TidemarkLoader
import TidemarkRawLog
import TidemarkTestSupport

/// The dashboard in a real headless Chromium over a real server and database: the numbers it
/// draws are the API's, in both languages, and it refreshes itself.
@Suite struct DashboardBrowserTests {
    static let day = "2026-11-20"
    static let range = "from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z"

    /// `data-<attribute>="..."` values of the elements that also carry `data-<key>`, in document order.
    static func values(_ html: String, marker: String) -> [(key: String, value: Int64)] {
        let pattern = try! Regex(#"data-"# + marker + #"="([^"]*)"[^>]*?data-value="(-?\d+)""#)
        return html.matches(of: pattern).compactMap { match in
            guard let key = match.output[1].substring, let value = match.output[2].substring.flatMap({ Int64($0) }) else { return nil }
            return (String(key), value)
        }
    }

    static func apiRows(_ http: HTTPTestClient, _ path: String) async throws -> [[String: Any]] {
        let answer = try await http.get(path)
        #expect(answer.status == 200, "\(path): \(answer.text.prefix(300))")
        return answer.json["rows"] as? [[String: Any]] ?? []
    }

    /// Waits until the speed layer has folded the whole load: two equal answers in a row.
    static func settled(_ http: HTTPTestClient) async throws {
        var previous = ""
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let current = try await http.get("/v1/views/sales_by_store_category_hour?grain=all&group_by=store_id").text
            if current == previous, try await http.get("/readyz").status == 200 { return }
            previous = current
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    @Test func theDashboardShowsTheAPIsNumbersInBothLanguagesAndRefreshes() async throws {
        try await TestDatabase.withFreshDatabase { url, _ in
            let server = try await ServerProcess.start(databaseURL: url.urlString)
            defer { server.killNow() }
            let http = HTTPTestClient(baseURL: server.baseURL)
            var load = LoadConfiguration(baseURL: server.baseURL)
            load.concurrency = 2
            let summary = try await Loader(configuration: load, logger: TestServer.quietLogger).load(files: [LambdaEndToEndTests.sampleDay])
            #expect(summary.isComplete && summary.accepted > 45_000)
            // Half the day in the batch layer, the rest in the speed layer: the page must merge both.
            let batch = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: url.urlString))
            #expect(batch.status == 0, "\(batch.output)")
            try await Self.settled(http)
            // A high reorder point for S01's dairy, so the alert table has rows to check.
            let points = #"[{"store_id": "S01", "category": "dairy", "reorder_point": 100000, "lead_time_hours": 1}]"#
            #expect(try await http.put("/v1/reorder-points", text: points).status == 200)
            var firing: [[String: Any]] = []
            let alertDeadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < alertDeadline {
                firing = try await http.get("/v1/alerts").json["alerts"] as? [[String: Any]] ?? []
                if !firing.isEmpty { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(firing.count > 5, "dairy products of S01 are below 100,000 units")

            let page = "\(server.baseURL)/dashboard?date=\(Self.day)"
            // 12 s of virtual time: the page refreshes its panel twice meanwhile.
            let dom = try await HeadlessChromium.dom(of: page, budgetMilliseconds: 12_000)
            #expect(dom.contains("<html lang=\"en\""))
            #expect(dom.contains("data-refreshed="), "the panel refreshed itself without a reload")

            // KPIs: the day's totals from the API.
            let totals = try #require(try await Self.apiRows(http, "/v1/views/sales_by_store_category_hour?\(Self.range)&grain=all&group_by=").first)
            let kpis = Dictionary(Self.values(dom, marker: "kpi"), uniquingKeysWith: { first, _ in first })
            for measure in ["net_revenue_cents", "net_units", "sale_lines"] {
                #expect(kpis[measure] == (totals[measure] as? Int).map(Int64.init), "\(measure)")
            }
            #expect((kpis["net_revenue_cents"] ?? 0) > 0)
            let revenue = Int64(totals["net_revenue_cents"] as? Int ?? 0)
            let dollars = (Decimal(revenue) / 100).formatted(.currency(code: "USD").locale(Locale(identifier: "en_US")))
            #expect(dom.contains(dollars), "the revenue KPI reads \(dollars)")

            // The hourly chart: one bar per hour with the API's revenue.
            let hours = try await Self.apiRows(http, "/v1/views/sales_by_store_category_hour?\(Self.range)&grain=hour&group_by=")
            var expectedBars = Array(repeating: Int64(0), count: 24)
            for row in hours {
                let bucket = try Timestamp(rfc3339: row["bucket"] as? String ?? "")
                let hour = Int((bucket.microsecondsSinceEpoch / 3_600_000_000) % 24)
                expectedBars[hour] = Int64(row["net_revenue_cents"] as? Int ?? 0)
            }
            let bars = Self.values(dom, marker: "hour").prefix(24)
            #expect(bars.map(\.value) == expectedBars)

            // Top categories and products of the day, and the store table.
            let categories = try await Self.apiRows(
                http, "/v1/views/sales_by_store_category_hour?\(Self.range)&grain=all&group_by=category&order_by=-net_revenue_cents&limit=8")
            let shownCategories = Self.values(Self.section(dom, "categories-day"), marker: "name")
            #expect(shownCategories.map(\.key) == categories.map { $0["category"] as? String ?? "" })
            #expect(shownCategories.map(\.value) == categories.map { Int64($0["net_revenue_cents"] as? Int ?? 0) })
            let products = try await Self.apiRows(
                http, "/v1/views/sales_by_product_hour?\(Self.range)&grain=all&group_by=product_id&order_by=-net_revenue_cents&limit=8")
            #expect(Self.values(Self.section(dom, "products-day"), marker: "name").map(\.key) == products.map { $0["product_id"] as? String ?? "" })
            let stores = try await Self.apiRows(http, "/v1/views/sales_by_store_category_hour?\(Self.range)&grain=all&group_by=store_id")
            let shownStores = Dictionary(Self.values(dom, marker: "store"), uniquingKeysWith: { first, _ in first })
            #expect(shownStores.count == stores.count && stores.count >= 10)
            for row in stores {
                #expect(shownStores[row["store_id"] as? String ?? ""] == Int64(row["net_revenue_cents"] as? Int ?? -1))
            }
            // The alert table lists exactly the API's firing alerts.
            let shownAlerts = Set(
                dom.matches(of: try Regex(#"<tr class="[a-z_]+" data-store="([^"]*)" data-product="([^"]*)" data-kind="([a-z_]+)""#)).map {
                    "\($0.output[3].substring ?? "")|\($0.output[1].substring ?? "")|\($0.output[2].substring ?? "")"
                })
            let apiAlerts = Set(
                firing.map { "\($0["kind"] as? String ?? "")|\($0["store_id"] as? String ?? "")|\($0["product_id"] as? String ?? "")" })
            #expect(!shownAlerts.isEmpty && shownAlerts == apiAlerts, "page \(shownAlerts.count), API \(apiAlerts.count)")
            let speed = try await http.get("/v1/views/sales_by_store_category_hour?\(Self.range)&grain=all")
            #expect(
                Self.values(dom, marker: "freshness").first { $0.key == "speed_events" }?.value == Int64(speed.json["speed_events"] as? Int ?? -1))

            // The language switch: the same numbers, in Portuguese, money as in Brazil.
            let switchLink = try #require(dom.firstMatch(of: try Regex(#"id="language-switch"[^>]*href="([^"]+)""#))?.output[1].substring)
            let portuguese = try await HeadlessChromium.dom(of: server.baseURL + switchLink.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(portuguese.contains("<html lang=\"pt-BR\""))
            #expect(portuguese.contains("Receita líquida"))
            let reais = (Decimal(revenue) / 100).formatted(.currency(code: "USD").locale(Locale(identifier: "pt_BR")))
            #expect(portuguese.contains(reais), "the revenue KPI reads \(reais)")
            #expect(Self.values(portuguese, marker: "kpi").first?.value == revenue)

            // A store filter narrows every figure to that store.
            let store = try await Self.apiRows(http, "/v1/views/sales_by_store_category_hour?\(Self.range)&grain=all&group_by=&store_id=S01").first
            let filtered = try await HeadlessChromium.dom(of: page + "&store_id=S01")
            #expect(Self.values(filtered, marker: "kpi").first?.value == (store?["net_revenue_cents"] as? Int).map(Int64.init))

            // Screenshots, kept as test artifacts (and for docs/).
            let artifacts = FileManager.default.currentDirectoryPath + "/test-artifacts"
            try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
            for (name, size) in [("dashboard-desktop", "1280,1500"), ("dashboard-phone", "390,2400")] {
                let path = "\(artifacts)/\(name).png"
                try await HeadlessChromium.screenshot(of: page, to: path, windowSize: size)
                let png = try Data(contentsOf: URL(fileURLWithPath: path))
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(name) is a real picture")
            }
            #expect(try await server.terminate() == 0)
        }
    }

    /// The part of the page from a ranking's start to its end.
    static func section(_ html: String, _ kind: String) -> String {
        guard let start = html.range(of: "data-kind=\"\(kind)\""), let end = html.range(of: "</ol>", range: start.upperBound..<html.endIndex) else {
            return ""
        }
        return String(html[start.lowerBound..<end.upperBound])
    }
}
