import Foundation
import NIOHTTP1
import Testing
import TidemarkAlerts
import TidemarkAuth
import TidemarkEvents
import TidemarkServer
import TidemarkTestSupport

/// The dashboard's sign-in and the daily report, over HTTP.
@Suite struct DashboardTests {
    @Test func withoutASessionThePageIsASignInFormAndAQueryKeyOpensIt() async throws {
        try await TestServer.run(configure: { $0.requireAPIKeys = true }) { server in
            let signIn = try await server.http.get("/dashboard?lang=pt-BR")
            #expect(signIn.status == 200)
            #expect(signIn.text.contains("<form method=\"post\" action=\"/v1/session\">"))
            #expect(signIn.text.contains("name=\"key\"") && signIn.text.contains("Entrar"))
            #expect(!signIn.text.contains("data-kpi"), "no numbers before signing in")
            #expect(signIn.headers.first(name: "Content-Security-Policy")?.contains("default-src 'self'") == true)
            #expect(try await server.http.get("/dashboard/panel").status == 401)
            #expect(try await server.http.get("/v1/reports/daily?date=2026-11-20").status == 401)

            let store = APIKeyStore(client: server.database, logger: TestServer.quietLogger)
            let query = try await store.create(name: "manager", scopes: [.query]).key
            let ingest = try await store.create(name: "till", scopes: [.ingest]).key
            let opened = try await server.http.post("/v1/session", text: "{\"key\": \"\(query)\"}")
            let cookie = String((opened.headers.first(name: "Set-Cookie") ?? "").split(separator: ";")[0])
            let page = try await server.http.get("/dashboard", headers: [("Cookie", cookie)])
            #expect(page.text.contains("data-kpi=\"net_revenue_cents\""))
            #expect(page.text.contains("id=\"sign-out\""))
            #expect(try await server.http.get("/", headers: [("Cookie", cookie)]).text.contains("data-kpi"))
            #expect(try await server.http.get("/dashboard/panel", headers: [("Cookie", cookie)]).text.contains("data-kpi"))
            #expect(try await server.http.get("/dashboard", headers: [("Authorization", "Bearer \(query)")]).text.contains("data-kpi"))
            #expect(!(try await server.http.get("/dashboard", headers: [("Authorization", "Bearer \(ingest)")]).text.contains("data-kpi")))

            let script = try await server.http.get("/dashboard/app.js")
            #expect(script.headers.first(name: "Content-Type")?.hasPrefix("text/javascript") == true)
            #expect(script.text.contains("setInterval"))
            #expect(try await server.http.get("/dashboard/app.css").headers.first(name: "Content-Type")?.hasPrefix("text/css") == true)
            for bad in ["/dashboard?date=yesterday", "/dashboard?colour=red", "/dashboard?date=2026-13-40"] {
                #expect(try await server.http.get(bad, headers: [("Cookie", cookie)]).status == 400, "\(bad)")
            }
        }
    }

    /// Today: the last hour comes from the rolling windows (exactly 60 minutes), and an alert
    /// that fired shows in the table.
    @Test func todayShowsTheLastSixtyMinutesAndTheActiveAlerts() async throws {
        try await TestServer.run(configure: { $0.alerts.evaluationInterval = .milliseconds(200) }) { server in
            let now = Timestamp.now().microsecondsSinceEpoch
            func at(_ minutesAgo: Int64) -> String { Timestamp(microsecondsSinceEpoch: now - minutesAgo * 60_000_000).rfc3339 }
            let events = [
                // 10 minutes ago: in the last hour; 90 minutes ago: in today's total only (when today is that long).
                Sample.saleJSON(id: "recent", overriding: ["occurred_at": at(10), "store_id": "S01", "product_id": "FRESH", "category": "bakery"]),
                Sample.saleJSON(
                    id: "older",
                    overriding: ["occurred_at": at(90), "store_id": "S01", "product_id": "STALE", "category": "dairy", "unit_price_cents": 900]),
                Sample.json([
                    "id": "count", "type": "stock", "kind": "count", "occurred_at": at(5), "store_id": "S01", "product_id": "FRESH", "quantity": 1,
                ]),
            ]
            #expect(try await server.http.post("/v1/events", text: Sample.ndjson(events), contentType: "application/x-ndjson").status == 200)
            let points = #"[{"store_id": "S01", "product_id": "FRESH", "reorder_point": 5, "lead_time_hours": 1}]"#
            #expect(try await server.http.put("/v1/reorder-points", text: points).status == 200)

            var page = ""
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                page = try await server.http.get("/dashboard/panel").text
                if page.contains("data-kind=\"low_stock\""), page.contains("data-name=\"FRESH\"") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let lastHour = DashboardBrowserTests.section(page, "products-hour")
            #expect(lastHour.contains("data-name=\"FRESH\" data-value=\"500\""), "\(lastHour)")
            #expect(!lastHour.contains("STALE"), "90 minutes ago is not in the last hour")
            #expect(page.contains("<tr class=\"low_stock\" data-store=\"S01\" data-product=\"FRESH\""), "the alert is listed")
            #expect(page.contains("id=\"alerts\" data-count=\"1\""))
        }
    }

    @Test func theDailyReportSumsEveryStoreAndCategoryWithTotals() async throws {
        try await TestServer.run { server in
            func sale(_ id: String, _ store: String, _ category: String, _ quantity: Int, _ cents: Int, type: String = "sale", hour: Int = 10)
                -> String
            {
                Sample.json([
                    "id": id, "type": type, "occurred_at": "2026-11-20T\(hour):15:00Z", "store_id": store, "product_id": "P-\(id)",
                    "quantity": quantity, "unit_price_cents": cents, "category": category,
                ])
            }
            let events = [
                sale("a", "S1", "dairy", 2, 150), sale("b", "S1", "dairy", 1, 300, hour: 18), sale("c", "S1", "bakery", 4, 100),
                sale("d", "S2", "dairy", 5, 200), sale("e", "S2", "dairy", 1, 200, type: "return"), sale("f", "=HYPERLINK(1)", "toys", 1, 999),
                // Other days stay out of the report.
                Sample.saleJSON(id: "other-day", overriding: ["occurred_at": "2026-11-21T00:00:00Z", "store_id": "S1", "category": "dairy"]),
            ]
            #expect(try await server.http.post("/v1/events", text: Sample.ndjson(events), contentType: "application/x-ndjson").status == 200)

            var csv = ""
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                csv = try await server.http.get("/v1/reports/daily?date=2026-11-20").text
                if csv.contains("toys") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let rows = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            #expect(
                rows.first == [
                    "date", "row", "store_id", "category", "units_sold", "units_returned", "net_units", "gross_revenue_cents", "refunds_cents",
                    "net_revenue_cents", "sale_lines",
                ])
            let byKey = Dictionary(rows.dropFirst().map { ("\($0[1])|\($0[2])|\($0[3])", Array($0[4...])) }, uniquingKeysWith: { first, _ in first })
            #expect(byKey["line|S1|dairy"] == ["3", "0", "3", "600", "0", "600", "2"])
            #expect(byKey["line|S1|bakery"] == ["4", "0", "4", "400", "0", "400", "1"])
            #expect(byKey["line|S2|dairy"] == ["5", "1", "4", "1000", "200", "800", "1"])
            #expect(byKey["store_total|S1|"] == ["7", "0", "7", "1000", "0", "1000", "3"])
            #expect(byKey["store_total|S2|"] == ["5", "1", "4", "1000", "200", "800", "1"])
            #expect(byKey["total||"] == ["13", "1", "12", "2999", "200", "2799", "5"])
            #expect(byKey["line|'=HYPERLINK(1)|toys"] != nil, "a store name that looks like a formula is defused")
            #expect(rows.count == 9, "a header, four lines, three store totals and the total")

            let html = try await server.http.get("/v1/reports/daily?date=2026-11-20&format=html&lang=pt-BR")
            #expect(html.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true)
            #expect(html.text.contains("Relatório diário de vendas 2026-11-20"))
            #expect(html.text.contains("US$\u{00A0}27,99"), "the grand total in Brazilian format")
            #expect(html.text.contains("data-store=\"S2\""))

            let oneStore = try await server.http.get("/v1/reports/daily?date=2026-11-20&store_id=S2").text
            #expect(!oneStore.contains("S1") && oneStore.contains("total,,,5,1,4,1000,200,800,1"))
            for (path, code) in [
                ("/v1/reports/daily", "missing_date"), ("/v1/reports/daily?date=20-11-2026", "invalid_date"),
                ("/v1/reports/daily?date=2026-11-20&format=pdf", "invalid_format"), ("/v1/reports/daily?date=2026-11-20&x=1", "unknown_parameter"),
                // NUL cannot reach PostgreSQL (schemathesis found a 500 here).
                ("/v1/reports/daily?date=2026-11-20&category=a%00b", "invalid_filter"), ("/dashboard?store_id=%00", "invalid_filter"),
                ("/dashboard/panel?category=x%00", "invalid_filter"),
            ] {
                let answer = try await server.http.get(path)
                #expect(answer.status == 400 && answer.errorCode == code, "\(path): \(answer.text)")
            }
        }
    }
}
