import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import PostgresNIO
import Testing
import TidemarkEvents
import TidemarkGenerator
import TidemarkPipelines
import TidemarkRawLog
import TidemarkTestSupport

/// `GET /v1/rolling/{view}` over real HTTP and PostgreSQL: events on both sides of a batch
/// watermark, interleaved in event time, so every window straddles `W`; each window and the
/// one before it equal `Oracle` over the raw log, and a second server rebuilds the same
/// windows from the raw log on start.
@Suite struct RollingWindowTests {
    static let minute: Int64 = 60_000_000
    static let hour: Int64 = 3_600_000_000

    @Test func windowsStraddlingTheWatermarkAreExactAndRebuiltOnStart() async throws {
        try await TestServer.run { server in
            // Every window below ends with the minute of `at`, fixed now so that no minute
            // boundary passing during the test moves them.
            let now = Timestamp.now().microsecondsSinceEpoch
            let at = Timestamp(microsecondsSinceEpoch: now)
            var random = SplitMix64(seed: 2026)
            try await Self.post(Self.events(count: 400, before: now, prefix: "w1-", &random), to: server)
            let run = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: server.databaseURL.urlString))
            #expect(run.status == 0, "\(run.output)")
            let watermark = Int64(try await server.database.scalar("SELECT max(seq) FROM events"))
            try await Self.post(Self.events(count: 300, before: now, prefix: "w2-", &random), to: server)

            let events = try await Self.rawLog(server)
            let windows = ["1m", "7m", "15m", "60m", "90m", "6h", "24h"]
            let plain = HTTPTestClient(baseURL: server.http.baseURL)
            // The tailer folds within 100 ms; wait until the longest window has every event.
            try await Self.waitUntilExact(plain, events, view: "sales_by_store_day", window: "24h", at: at)
            // The speed layer serves the batch, so the first 400 events are the batch's: every
            // window below holds events from both sides of W (checked per window).
            let aboveW = events.count { $0.seq > watermark }
            var served: [String: Any] = [:]
            for _ in 0..<100 {
                served = try await server.http.get("/v1/views/sales_by_store_day?grain=all&group_by=").json
                if served["speed_events"] as? Int == aboveW { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect((served["watermark"] as? [String: Any])?["seq"] as? Int == Int(watermark))
            #expect(served["speed_events"] as? Int == aboveW && aboveW == 300)

            var answers: [String: String] = [:]
            for window in windows {
                for (view, groupBy) in [("sales_by_product_hour", "product_id"), ("sales_by_category_day", "category"), ("sales_by_store_day", "")] {
                    let path = "/v1/rolling/\(view)?window=\(window)&at=\(at.rfc3339)&group_by=\(groupBy)"
                    let answer = try await Self.checkAgainstOracle(server.http, path, events, watermark: watermark, at: at, window: window)
                    answers[path] = answer
                }
            }

            // An hour-long window over a whole past hour equals the view's merged answer for that hour.
            let hourStart = Grain.hour.bucketStart(now) - Self.hour
            let lastMinute = Timestamp(microsecondsSinceEpoch: hourStart + 59 * Self.minute).rfc3339
            let rolling = try await server.http.get("/v1/rolling/sales_by_product_hour?window=60m&at=\(lastMinute)&group_by=product_id")
            let view = try await server.http.get(
                "/v1/views/sales_by_product_hour?from=\(Timestamp(microsecondsSinceEpoch: hourStart).rfc3339)&to=\(Timestamp(microsecondsSinceEpoch: hourStart + Self.hour).rfc3339)&grain=all&group_by=product_id"
            )
            let viewRows = try #require(view.json["rows"] as? [[String: Any]])
            #expect(viewRows.count > 2)
            // (Products sold only in the hour before have a row of zeros here, and none in the view.)
            let inHour = Self.measures(of: try #require(rolling.json["rows"] as? [[String: Any]]), suffix: "").filter { $0.value != Self.empty }
            #expect(inHour == Self.measures(of: viewRows, suffix: ""))

            try await checkTopNTrendAndCSV(server.http, events, at: at)
            try await checkMistakes(server.http)

            // A second server rebuilds the same windows from the raw log (W's events by the
            // start-up load, the rest by the tailer).
            let second = try await ServerProcess.start(databaseURL: server.databaseURL.urlString)
            let secondHTTP = HTTPTestClient(baseURL: second.baseURL)
            let deadline = ContinuousClock.now + .seconds(30)
            while try await secondHTTP.get("/readyz").status != 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            for (path, text) in answers.sorted(by: { $0.key < $1.key }) {
                let again = try await secondHTTP.get(path)
                #expect(again.status == 200)
                #expect(again.text == text, "\(path) after a restart")
            }
            let metrics = try await secondHTTP.get("/metrics").text
            #expect(metrics.contains(#"tidemark_rolling_rows{view="sales_by_store_day"}"#), "\(metrics)")
            #expect(!metrics.contains(#"tidemark_rolling_rows{view="stock_levels"}"#))
            _ = try await second.terminate()
        }
    }

    /// Sales and returns over the last 26 hours (a few older than 48 hours, which no window
    /// holds), many on or just before a minute boundary, none in the future.
    static func events(count: Int, before now: Int64, prefix: String, _ random: inout SplitMix64) -> [Event] {
        (0..<count).map { index in
            let lag: Int64 =
                switch index % 10 {
                case 0: Int64.random(in: 0...(26 * hour), using: &random)
                case 1: Int64.random(in: (48 * hour)...(49 * hour), using: &random)
                default: Int64.random(in: 0...(3 * hour), using: &random)
                }
            var time = now - lag
            if index % 3 == 0 { time = Grain.minute.bucketStart(time) }
            if index % 3 == 1 { time = min(now, Grain.minute.bucketStart(time) + minute - 1) }
            let line = SaleLine(
                quantity: Int64.random(in: 1...4, using: &random), unitPriceCents: Int64.random(in: 50...2_000, using: &random),
                category: index % 7 == 0 ? nil : ["dairy", "toys", "bakery"].randomElement(using: &random))
            return Event(
                id: "\(prefix)\(index)", occurredAt: Timestamp(microsecondsSinceEpoch: time),
                storeID: ["S1", "S2", "S3"].randomElement(using: &random)!,
                productID: "P\(Int.random(in: 1...8, using: &random))", payload: index % 5 == 4 ? .return(line) : .sale(line))
        }
    }

    static func post(_ events: [Event], to server: TestServer) async throws {
        let posted = try await server.http.post("/v1/events", body: ByteBuffer(data: try Event.ndjson(events)), contentType: "application/x-ndjson")
        #expect(posted.status == 200, "\(posted.text)")
    }

    static func rawLog(_ server: TestServer) async throws -> [LoggedEvent] {
        try await RawLogReader(client: server.database, logger: TestServer.quietLogger).events(after: 0, limit: 100_000)
    }

    /// The rows' measures by key (the row's key values joined by `|`): `m` with `suffix` "",
    /// `m_previous` with "_previous", `m_change` with "_change".
    static func measures(of rows: [[String: Any]], suffix: String) -> [String: [String: Int64?]] {
        let names =
            ["units_sold", "units_returned", "net_units", "gross_revenue_cents", "refunds_cents", "net_revenue_cents", "sale_lines"]
            + ["min_unit_price_cents", "max_unit_price_cents"]
        var result: [String: [String: Int64?]] = [:]
        for row in rows {
            let key = ["store_id", "product_id", "category"].compactMap { row[$0] as? String }.joined(separator: "|")
            result[key] = Dictionary(uniqueKeysWithValues: names.map { ($0, (row[$0 + suffix] as? Int).map(Int64.init)) })
        }
        return result
    }

    static func window(_ text: String, at: Timestamp) -> (previousStart: Int64, start: Int64, end: Int64) {
        let minutes = Int64(text.dropLast())! * (text.hasSuffix("h") ? 60 : 1)
        let end = Grain.minute.bucketStart(at.microsecondsSinceEpoch) + minute
        return (end - 2 * minutes * minute, end - minutes * minute, end)
    }

    static func oracle(_ events: [LoggedEvent], _ from: Int64, _ to: Int64, groupBy: String) -> Oracle.Rows {
        Oracle.sales(events.map(\.event).filter { (from..<to).contains($0.occurredAt.microsecondsSinceEpoch) }) { event in
            switch groupBy {
            case "product_id": event.productID
            case "category": event.saleLine?.category ?? "unknown"
            default: ""
            }
        }
    }

    static let empty: [String: Int64?] = [
        "units_sold": 0, "units_returned": 0, "net_units": 0, "gross_revenue_cents": 0, "refunds_cents": 0, "net_revenue_cents": 0,
        "sale_lines": 0, "min_unit_price_cents": nil, "max_unit_price_cents": nil,
    ]

    /// One answer against the oracle (current, previous, change, trend); returns its text.
    static func checkAgainstOracle(
        _ http: HTTPTestClient, _ path: String, _ events: [LoggedEvent], watermark: Int64, at: Timestamp, window text: String
    ) async throws -> String {
        let answer = try await http.get(path)
        #expect(answer.status == 200, "\(path): \(answer.text)")
        let json = answer.json
        let rows = try #require(json["rows"] as? [[String: Any]], "\(path)")
        let groupBy = path.components(separatedBy: "group_by=").last ?? ""
        let bounds = window(text, at: at)
        #expect(json["from"] as? String == Timestamp(microsecondsSinceEpoch: bounds.start).rfc3339, "\(path)")
        #expect(json["to"] as? String == Timestamp(microsecondsSinceEpoch: bounds.end).rfc3339, "\(path)")
        let current = oracle(events, bounds.start, bounds.end, groupBy: groupBy)
        let previous = oracle(events, bounds.previousStart, bounds.start, groupBy: groupBy)
        #expect(measures(of: rows, suffix: "").count == rows.count)
        let keys = Set(current.keys).union(previous.keys)
        #expect(measures(of: rows, suffix: "") == Dictionary(uniqueKeysWithValues: keys.map { ($0, current[$0] ?? empty) }), "\(path)")
        #expect(measures(of: rows, suffix: "_previous") == Dictionary(uniqueKeysWithValues: keys.map { ($0, previous[$0] ?? empty) }), "\(path)")
        for (key, changes) in measures(of: rows, suffix: "_change") {
            for (name, change) in changes {
                let (now, before) = ((current[key] ?? empty)[name] ?? nil, (previous[key] ?? empty)[name] ?? nil)
                #expect(change == now.flatMap { n in before.map { n - $0 } }, "\(path) \(key) \(name)_change")
            }
        }
        for row in rows {
            let change = row["net_revenue_cents_change"] as? Int ?? 0
            #expect(row["trend"] as? String == (change > 0 ? "up" : change < 0 ? "down" : "flat"), "\(path)")
        }
        // Straddles W: the window holds events from both sides (the 1-minute window may not).
        let inWindow = events.filter { (bounds.start..<bounds.end).contains($0.event.occurredAt.microsecondsSinceEpoch) }
        if text != "1m" {
            #expect(inWindow.contains { $0.seq <= watermark } && inWindow.contains { $0.seq > watermark }, "\(path) does not straddle W")
        }
        return answer.text
    }

    static func waitUntilExact(_ http: HTTPTestClient, _ events: [LoggedEvent], view: String, window: String, at: Timestamp) async throws {
        let bounds = self.window(window, at: at)
        let expected = oracle(events, bounds.start, bounds.end, groupBy: "")[""]?["units_sold"] ?? nil
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            let answer = try await http.get("/v1/rolling/\(view)?window=\(window)&at=\(at.rfc3339)&group_by=")
            if ((answer.json["rows"] as? [[String: Any]])?.first?["units_sold"] as? Int).map(Int64.init) == expected { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the rolling windows never held every event")
    }

    func checkTopNTrendAndCSV(_ http: HTTPTestClient, _ events: [LoggedEvent], at: Timestamp) async throws {
        let base = "/v1/rolling/sales_by_product_hour?window=90m&at=\(at.rfc3339)&group_by=product_id"
        let bounds = Self.window("90m", at: at)
        let current = Self.oracle(events, bounds.start, bounds.end, groupBy: "product_id")
        let previous = Self.oracle(events, bounds.previousStart, bounds.start, groupBy: "product_id")
        let keys = Set(current.keys).union(previous.keys)
        func value(_ rows: Oracle.Rows, _ key: String, _ name: String) -> Int64 { (rows[key] ?? Self.empty)[name].flatMap { $0 } ?? 0 }

        // Top 3 by net revenue in the window (ties by product id), the default order too.
        let expectedTop = keys.sorted { a, b in
            let (x, y) = (value(current, a, "net_revenue_cents"), value(current, b, "net_revenue_cents"))
            return x != y ? x > y : a < b
        }.prefix(3)
        for path in [base + "&order_by=-net_revenue_cents&limit=3", base + "&limit=3"] {
            let top = try await http.get(path)
            let rows = try #require(top.json["rows"] as? [[String: Any]])
            #expect(rows.map { $0["product_id"] as? String ?? "" } == Array(expectedTop), "\(path)")
            #expect(top.json["total_rows"] as? Int == keys.count)
            #expect(top.json["trend_by"] as? String == "net_revenue_cents")
        }

        // The fastest risers in units, and the trend by units.
        let risers = try await http.get(base + "&order_by=-units_sold_change&limit=4")
        let rows = try #require(risers.json["rows"] as? [[String: Any]])
        let expectedRisers = keys.sorted { a, b in
            let (x, y) = (
                value(current, a, "units_sold") - value(previous, a, "units_sold"), value(current, b, "units_sold") - value(previous, b, "units_sold")
            )
            return x != y ? x > y : a < b
        }.prefix(4)
        #expect(rows.map { $0["product_id"] as? String ?? "" } == Array(expectedRisers))
        #expect(risers.json["trend_by"] as? String == "units_sold")
        for row in rows {
            let change = row["units_sold_change"] as? Int ?? 0
            #expect(row["trend"] as? String == (change > 0 ? "up" : change < 0 ? "down" : "flat"))
        }
        let ascending = try await http.get(base + "&order_by=product_id")
        #expect((ascending.json["rows"] as? [[String: Any]])?.map { $0["product_id"] as? String ?? "" } == keys.sorted())

        // CSV: the JSON rows' columns, one line per row.
        let csv = try await http.get(base + "&order_by=-net_revenue_cents&format=csv")
        #expect(csv.status == 200)
        #expect(csv.headers["Content-Type"].first?.hasPrefix("text/csv") == true)
        let lines = csv.text.split(separator: "\r\n").map(String.init)
        #expect(lines.count == keys.count + 1)
        let measures =
            ["units_sold", "units_returned", "net_units", "gross_revenue_cents", "refunds_cents", "net_revenue_cents", "sale_lines"]
            + ["min_unit_price_cents", "max_unit_price_cents"]
        let header = (["product_id", "trend"] + measures.flatMap { [$0, $0 + "_previous", $0 + "_change"] }).joined(separator: ",")
        #expect(lines.first == header)
        let first = try #require(expectedTop.first)
        let cells = lines.dropFirst().first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) ?? []
        #expect(cells.first == first)
        #expect(cells.count == 2 + 3 * measures.count)
        #expect(cells[2] == String(value(current, first, "units_sold")))
        #expect(cells[3] == String(value(previous, first, "units_sold")))
    }

    func checkMistakes(_ http: HTTPTestClient) async throws {
        for (query, code) in [
            ("window=0m", "invalid_window"), ("window=25h", "invalid_window"), ("window=1.5m", "invalid_window"), ("window=abc", "invalid_window"),
            ("window=1441m", "invalid_window"), ("window=-5m", "invalid_window"), ("window=m", "invalid_window"), ("window=015m", "invalid_window"),
            ("from=-1h", "unknown_parameter"),
            ("window=15m&window=5m", "repeated_parameter"), ("order_by=bucket", "unknown_measure"), ("group_by=nope", "unknown_key"),
            ("limit=0", "invalid_limit"), ("format=xml", "invalid_format"), ("at=yesterday", "invalid_time"),
            ("window=24h&at=-2m", "at_out_of_range"), ("window=15m&at=-48h", "at_out_of_range"), ("at=%2B2h", "at_out_of_range"),
            ("store_id=", "empty_filter"),
        ] {
            let answer = try await http.get("/v1/rolling/sales_by_product_hour?\(query)")
            #expect(answer.status == 400, "\(query): \(answer.text)")
            #expect(answer.errorCode == code, "\(query): \(answer.text)")
        }
        let window = try await http.get("/v1/rolling/sales_by_product_hour?window=25h")
        #expect(((window.json["error"] as? [String: Any])?["details"] as? [String]) == ["1m", "1440m", "1h", "24h"])
        for view in ["stock_levels", "prices"] {
            let answer = try await http.get("/v1/rolling/\(view)")
            #expect(answer.status == 400)
            #expect(answer.errorCode == "no_rolling_window")
            #expect(
                ((answer.json["error"] as? [String: Any])?["details"] as? [String]) == [
                    "sales_by_category_day", "sales_by_product_hour", "sales_by_store_category_hour", "sales_by_store_day",
                ])
        }
        #expect(try await http.get("/v1/rolling/nope").errorCode == "unknown_view")
        for fine in ["window=1m", "window=24h", "window=1440m", "window=2h&at=-43h", "window=15m&at=now"] {
            #expect(try await http.get("/v1/rolling/sales_by_store_day?\(fine)").status == 200, "\(fine)")
        }
    }
}
