import Foundation
import NIOHTTP1
import PostgresNIO
import Testing
import TidemarkEvents
import TidemarkRawLog
import TidemarkTestSupport

/// The query API's parameters and errors, over HTTP.
@Suite struct ServingAPITests {
    static let events = [
        Sample.json([
            "id": "s1", "type": "sale", "occurred_at": "2026-11-20T10:05:00Z", "store_id": "S1", "product_id": "A", "quantity": 2,
            "unit_price_cents": 500, "category": "toys",
        ]),
        Sample.json([
            "id": "s2", "type": "sale", "occurred_at": "2026-11-20T11:30:00Z", "store_id": "S1", "product_id": "B", "quantity": 1,
            "unit_price_cents": 300,
        ]),
        Sample.json([
            "id": "s3", "type": "sale", "occurred_at": "2026-11-21T09:00:00Z", "store_id": "S2", "product_id": "A", "quantity": 5,
            "unit_price_cents": 450, "category": "toys",
        ]),
        Sample.json([
            "id": "r1", "type": "return", "occurred_at": "2026-11-21T10:00:00Z", "store_id": "S2", "product_id": "A", "quantity": 1,
            "unit_price_cents": 450, "category": "toys",
        ]),
        Sample.json([
            "id": "c1", "type": "stock", "kind": "count", "occurred_at": "2026-11-20T06:00:00Z", "store_id": "S1", "product_id": "A",
            "quantity": 10,
        ]),
    ]

    func withLoadedServer(_ body: @escaping @Sendable (TestServer) async throws -> Void) async throws {
        try await TestServer.run { server in
            let posted = try await server.http.post("/v1/events", text: Sample.ndjson(Self.events), contentType: "application/x-ndjson")
            #expect(posted.status == 200)
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let answer = try await server.http.get("/v1/views/sales_by_store_day?grain=all&group_by=")
                if answer.json["speed_events"] as? Int == 4 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await body(server)
        }
    }

    @Test func viewsAreListedWithKeysMeasuresAndGrains() async throws {
        try await TestServer.run { server in
            let answer = try await server.http.get("/v1/views")
            #expect(answer.status == 200)
            let views = try #require(answer.json["views"] as? [[String: Any]])
            #expect(
                views.map { $0["name"] as? String } == [
                    "prices", "product_categories", "sales_by_category_day", "sales_by_product_hour", "sales_by_store_category_hour",
                    "sales_by_store_day", "stock_levels",
                ])
            let hourly = try #require(views.first { $0["name"] as? String == "sales_by_product_hour" })
            #expect(hourly["grains"] as? [String] == ["hour", "day", "all"])
            #expect(hourly["keys"] as? [String] == ["store_id", "product_id"])
        }
    }

    @Test func rollUpsFiltersOrderLimitAndCSV() async throws {
        try await withLoadedServer { server in
            let top = try await server.http.get(
                "/v1/views/sales_by_product_hour?from=2026-11-20T00:00:00Z&to=2026-11-22T00:00:00Z&grain=all&group_by=product_id&order_by=-net_revenue_cents&limit=1"
            )
            #expect(top.status == 200, "\(top.text)")
            let rows = try #require(top.json["rows"] as? [[String: Any]])
            #expect(rows.count == 1)
            #expect(rows.first?["product_id"] as? String == "A")
            #expect(rows.first?["net_revenue_cents"] as? Int == 2 * 500 + 5 * 450 - 450)
            #expect(rows.first?["bucket"] == nil)

            let filtered = try await server.http.get("/v1/views/sales_by_product_hour?grain=day&group_by=store_id&store_id=S1")
            let days = try #require(filtered.json["rows"] as? [[String: Any]])
            #expect(days.count == 1)
            #expect(days.first?["bucket"] as? String == "2026-11-20T00:00:00Z")
            #expect(days.first?["units_sold"] as? Int == 3)

            let window = try await server.http.get("/v1/views/sales_by_product_hour?from=2026-11-20T10:30:00Z&to=2026-11-20T12:00:00Z&group_by=")
            let hours = try #require(window.json["rows"] as? [[String: Any]])
            #expect(hours.map { $0["bucket"] as? String } == ["2026-11-20T11:00:00Z"], "buckets starting in [from, to)")

            let category = try await server.http.get("/v1/views/sales_by_category_day?grain=all&order_by=category")
            let categories = try #require(category.json["rows"] as? [[String: Any]])
            #expect(categories.map { $0["category"] as? String } == ["toys", "unknown"])

            let csv = try await server.http.get("/v1/views/sales_by_store_day?format=csv&order_by=store_id")
            #expect(csv.status == 200)
            #expect(csv.headers["Content-Type"].first?.hasPrefix("text/csv") == true)
            let lines = csv.text.split(separator: "\r\n")
            #expect(
                lines.first
                    == "bucket,store_id,units_sold,units_returned,net_units,gross_revenue_cents,refunds_cents,net_revenue_cents,sale_lines,min_unit_price_cents,max_unit_price_cents"
            )
            #expect(lines.count == 3)
            #expect(lines[1].hasPrefix("2026-11-20T00:00:00Z,S1,3,0,3,1300,0,1300,2,300,500"))

            let recent = try await server.http.get("/v1/views/sales_by_store_day?from=-24h")
            #expect(recent.status == 200)
            #expect((recent.json["rows"] as? [[String: Any]])?.isEmpty == true, "the sample events are older than a day")

            let stock = try await server.http.get("/v1/stock?store_id=S1&below=10")
            let levels = try #require(stock.json["rows"] as? [[String: Any]])
            #expect(levels.map { $0["product_id"] as? String } == ["A", "B"])
            #expect(levels.first?["on_hand"] as? Int == 8)
            #expect(levels.last?["on_hand"] as? Int == -1)
        }
    }

    /// Each mistake answers 400 with a code, a message naming the culprit, and the valid choices.
    @Test(
        arguments: [
            ("/v1/views/sales_by_sku", "unknown_view", "sales_by_store_day"),
            ("/v1/views/sales_by_store_day?group_by=product_id", "unknown_key", "store_id"),
            ("/v1/views/sales_by_store_day?order_by=-profit", "unknown_measure", "net_revenue_cents"),
            ("/v1/views/sales_by_store_day?grain=hour", "invalid_grain", "day"),
            ("/v1/views/sales_by_store_day?colour=red", "unknown_parameter", "store_id"),
            ("/v1/views/sales_by_store_day?from=yesterday", "invalid_time", "RFC 3339"),
            ("/v1/views/sales_by_store_day?limit=0", "invalid_limit", "1 to"),
            ("/v1/views/sales_by_store_day?format=xml", "invalid_format", "csv"),
            ("/v1/views/stock_levels?from=-1h", "no_time_grain", "grain none"),
            ("/v1/views/sales_by_store_day?store_id=S1&store_id=S2", "repeated_parameter", "twice"),
            ("/v1/stock?below=lots", "invalid_below", "whole number"),
            // Found by scripts/schemathesis.sh: NUL reached PostgreSQL, which refused it, and the answer was 503.
            ("/v1/views/sales_by_store_day?store_id=S1,%00", "invalid_filter", "NUL"),
            ("/v1/stock?product_id=A%00", "invalid_filter", "NUL"),
            // Relative times were bounded by a count (3,153,600,000 of any unit), not a duration: days overflowed Int64 and crashed the server.
            ("/v1/views/sales_by_store_day?from=-3000000000d", "invalid_time", "relative"),
            ("/v1/views/sales_by_store_day?to=%2B36501d", "invalid_time", "relative"),
        ] as [(String, String, String)])
    func mistakesAnswer400(path: String, code: String, mentions: String) async throws {
        try await TestServer.run { server in
            let answer = try await server.http.get(path)
            #expect(answer.status == 400, "\(answer.text)")
            #expect(answer.errorCode == code, "\(answer.text)")
            #expect(answer.text.contains(mentions), "\(answer.text)")
        }
    }
}

@Suite struct ServingFailureTests {
    /// A query PostgreSQL refuses is a 500 to fix, logged, not a 503 that hides it as an outage.
    @Test func aRefusedBatchReadIs500NotAnOutage() async throws {
        try await TestServer.run { server in
            #expect(try await server.http.post("/v1/events", text: Sample.saleJSON(id: "f-1")).status == 200)
            let run = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: server.databaseURL.urlString))
            #expect(run.status == 0, "\(run.output)")
            let table = try await server.database.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_name LIKE 'tidemark_view_sales_by_store_day_g%' AND table_name NOT LIKE '%moves'",
                logger: TestServer.quietLogger
            ).collect().first?.decode(String.self)
            let name = try #require(table)
            var answer = try await server.http.get("/v1/views/sales_by_store_day")
            for _ in 0..<100 where answer.json["watermark"].flatMap({ ($0 as? [String: Any])?["seq"] as? Int }) != 1 {
                try await Task.sleep(for: .milliseconds(50))
                answer = try await server.http.get("/v1/views/sales_by_store_day")
            }
            try await server.database.query(
                PostgresQuery(unsafeSQL: "ALTER TABLE \(name) RENAME COLUMN m_units_sold TO renamed"), logger: TestServer.quietLogger)
            let refused = try await server.http.get("/v1/views/sales_by_store_day?grain=all")
            #expect(refused.status == 500, "\(refused.text)")
            #expect(refused.errorCode == "query_failed")
            #expect(!refused.text.contains("renamed"), "the SQL error stays in the log")
            #expect(refused.headers.first(name: "Retry-After") == nil)
            try await server.database.query(
                PostgresQuery(unsafeSQL: "ALTER TABLE \(name) RENAME COLUMN renamed TO m_units_sold"), logger: TestServer.quietLogger)
            #expect(try await server.http.get("/v1/views/sales_by_store_day?grain=all").status == 200)
        }
    }
}
