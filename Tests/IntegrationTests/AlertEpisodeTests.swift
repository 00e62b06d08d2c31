import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing
import TidemarkAlerts
import TidemarkEvents
import TidemarkRawLog
import TidemarkServer
import TidemarkTestSupport

/// Alert episodes over real HTTP and PostgreSQL, notified to a real local webhook receiver.
@Suite struct AlertEpisodeTests {
    typealias F = AlertsFixture

    @Test func anEpisodeFiresOnceResolvesAndALaterOneFiresAgain() async throws {
        let receiver = WebhookReceiver()
        try await receiver.run { url in
            try await TestServer.run(configure: F.configure(webhook: url)) { server in
                let http = server.http
                try await F.putReorderPoints(http, #"[{"store_id": "S01", "product_id": "P1", "reorder_point": 10, "lead_time_hours": 0}]"#)
                try await F.post(http, [F.stock("c1", "count", 20, at: F.ago(7200))])
                try await F.waitUntilEvaluated(server)
                #expect(try await F.alerts(http).isEmpty, "20 on hand is not below 10")

                // Falls below the reorder point: one `fired`, signed.
                try await F.post(http, [F.sale("s1", 12, at: F.ago(3600))])
                let fired = try await receiver.waitForAccepted(1)
                #expect(fired.count == 1)
                let first = try #require(fired.first)
                #expect(F.isSigned(first), "\(first.headers)")
                #expect(first.type == "alert.fired")
                #expect(first.headers["x-tidemark-event"] == "alert.fired")
                #expect(first.alert["kind"] as? String == "low_stock")
                #expect(first.alert["store_id"] as? String == "S01" && first.alert["product_id"] as? String == "P1")
                #expect(first.alert["on_hand"] as? Int == 8 && first.alert["reorder_point"] as? Int == 10)
                #expect(first.alert["state"] as? String == "firing")
                #expect(first.alert["resolved_at"] is NSNull)
                let episode = try #require(first.alert["id"] as? Int)

                // Still low after more events: no second notification, one firing alert.
                try await F.post(http, [F.sale("s2", 1, at: F.ago(1800))])
                try await F.waitUntilEvaluated(server)
                try await Task.sleep(for: .milliseconds(300))
                #expect(receiver.received.value.count == 1, "no duplicate for the same episode")
                let firing = try await F.alerts(http)
                #expect(firing.count == 1)
                #expect(firing.first?["id"] as? Int == episode)
                #expect(firing.first?["fired_at"] as? String == first.alert["fired_at"] as? String)
                #expect(firing.first?["on_hand"] as? Int == 8, "the numbers that fired it")

                // Stock received: `resolved`, for the same episode.
                try await F.post(http, [F.stock("r1", "receipt", 10, at: F.ago(600))])
                let resolvedNotes = try await receiver.waitForAccepted(2)
                #expect(resolvedNotes.count == 2)
                let resolved = try #require(resolvedNotes.last)
                #expect(F.isSigned(resolved))
                #expect(resolved.type == "alert.resolved")
                #expect(resolved.alert["id"] as? Int == episode)
                #expect(resolved.alert["state"] as? String == "resolved")
                let resolvedAt = try #require(resolved.alert["resolved_at"] as? String)
                #expect(try await F.alerts(http).isEmpty, "nothing firing once resolved")
                let history = try await F.alerts(http, "?state=resolved")
                #expect(history.count == 1)
                #expect(history.first?["resolved_at"] as? String == resolvedAt)
                let firedAt = try Timestamp(rfc3339: try #require(history.first?["fired_at"] as? String))
                #expect(firedAt < (try Timestamp(rfc3339: resolvedAt)))

                // Falls again: a new episode fires.
                try await F.post(http, [F.sale("s3", 9, at: F.ago(300))])
                let again = try await receiver.waitForAccepted(3)
                #expect(again.count == 3)
                #expect(again.last?.type == "alert.fired")
                let second = try #require(again.last?.alert["id"] as? Int)
                #expect(second != episode)
                let all = try await F.alerts(http, "?state=all")
                #expect(all.map { $0["id"] as? Int } == [second, episode], "newest first")
                #expect(all.map { $0["state"] as? String } == ["firing", "resolved"])

                let deliveryIDs = Set(receiver.received.value.compactMap { $0.headers["x-tidemark-delivery"] })
                #expect(deliveryIDs.count == 3)
                // The deliverer records a delivery after the receiver's answer reaches it, which on a
                // loaded machine can be after the receiver counted it.
                try await waitUntil("the third delivery recorded", timeout: .seconds(20)) {
                    try await server.database.scalar("SELECT count(*) FROM tidemark_webhook_deliveries WHERE delivered_at IS NOT NULL") == 3
                }
                #expect(
                    try await server.database.scalar(
                        "SELECT count(*) FROM tidemark_webhook_deliveries WHERE delivered_at IS NOT NULL AND attempts = 1") == 3)
            }
        }
    }

    /// A failing receiver is retried with growing waits; delivered once, or given up after `maxAttempts`.
    @Test(arguments: [(failures: 2, maxAttempts: 5), (failures: 100, maxAttempts: 3)])
    func failedNotificationsAreRetriedWithBackoff(failures: Int, maxAttempts: Int) async throws {
        let receiver = WebhookReceiver(failures: failures)
        try await receiver.run { url in
            try await TestServer.run(configure: F.configure(webhook: url, maxAttempts: maxAttempts)) { server in
                try await F.putReorderPoints(
                    server.http, #"[{"store_id": "S01", "product_id": "P1", "reorder_point": 10, "lead_time_hours": 0}]"#)
                try await F.post(server.http, [F.stock("c1", "count", 3, at: F.ago(60))])
                let attempts = min(failures + 1, maxAttempts)
                let deadline = ContinuousClock.now + .seconds(20)
                while receiver.received.value.count < attempts, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                // Long enough for one more attempt after the last one, had there been one.
                try await Task.sleep(for: .milliseconds(1_200))
                let received = receiver.received.value
                #expect(received.count == attempts, "\(received.map(\.status))")
                #expect(Set(received.compactMap { $0.headers["x-tidemark-delivery"] }).count == 1, "one notification, attempted again")
                #expect(received.allSatisfy(F.isSigned))
                // Waits of at least 200 ms, then 400 ms, ... (the configured backoff doubling).
                for index in received.indices.dropFirst() {
                    let wait = received[index].receivedAt - received[index - 1].receivedAt
                    #expect(wait >= .milliseconds(200 << (index - 1)), "wait before attempt \(index + 1): \(wait)")
                }
                let delivered = failures < maxAttempts
                #expect(received.filter { $0.status == 200 }.count == (delivered ? 1 : 0))
                let row = try await server.database.query(
                    "SELECT attempts::bigint, delivered_at IS NOT NULL, failed_at IS NOT NULL, coalesce(last_error, '') FROM tidemark_webhook_deliveries",
                    logger: TestServer.quietLogger)
                var rows: [(Int64, Bool, Bool, String)] = []
                for try await values in row.decode((Int64, Bool, Bool, String).self) { rows.append(values) }
                #expect(rows.count == 1)
                #expect(rows.first?.0 == Int64(attempts))
                #expect(rows.first?.1 == delivered)
                #expect(rows.first?.2 == !delivered)
                #expect(delivered ? rows.first?.3 == "" : rows.first?.3 == "HTTP 500")
                let metrics = try await server.http.get("/metrics").text
                let outcome = delivered ? "delivered" : "failed"
                #expect(metrics.contains("tidemark_webhook_deliveries_total{outcome=\"\(outcome)\"} 1"), "\(metrics)")
                #expect(metrics.contains("tidemark_webhook_deliveries_total{outcome=\"retry\"} \(attempts - 1)"))
                #expect(metrics.contains("tidemark_alerts_firing{kind=\"low_stock\"} 1"))
                #expect(metrics.contains("tidemark_alerts_firing{kind=\"stock_out\"} 0"))
            }
        }
    }

    /// Hours of cover from the last 24 hours' sales below the lead time; older sales do not count.
    @Test func projectedStockOutFromSalesVelocity() async throws {
        try await TestServer.run(configure: F.configure(webhook: nil)) { server in
            let http = server.http
            try await F.putReorderPoints(
                http,
                """
                [{"store_id": "S01", "product_id": "P1", "reorder_point": 5, "lead_time_hours": 24},
                 {"store_id": "S01", "product_id": "P2", "reorder_point": 5, "lead_time_hours": 24}]
                """)
            try await F.post(
                http,
                [
                    // P1: 40 on hand after selling 60 in the last 24 hours: 16 hours of cover.
                    F.stock("c1", "count", 100, product: "P1", at: F.ago(3 * 3600)), F.sale("s1", 60, product: "P1", at: F.ago(2 * 3600)),
                    // P2: 90 on hand, 10 sold in the last 24 hours (216 hours); 500 sold 30 hours ago do not count.
                    F.sale("old", 500, product: "P2", at: F.ago(30 * 3600)), F.stock("c2", "count", 100, product: "P2", at: F.ago(3 * 3600)),
                    F.sale("s2", 10, product: "P2", at: F.ago(3600)),
                ])
            try await F.waitUntilEvaluated(server)
            let firing = try await F.alerts(http)
            #expect(firing.count == 1, "\(firing)")
            let alert = try #require(firing.first)
            #expect(alert["kind"] as? String == "projected_stock_out")
            #expect(alert["product_id"] as? String == "P1")
            #expect(alert["on_hand"] as? Int == 40 && alert["units_sold_24h"] as? Int == 60 && alert["lead_time_hours"] as? Int == 24)
            #expect((alert["hours_of_cover"] as? NSNumber)?.doubleValue == 16)
            #expect(try await F.alerts(http, "?kind=low_stock").isEmpty)
            #expect(try await F.alerts(http, "?kind=projected_stock_out,stock_out&store_id=S01&product_id=P1").count == 1)
            #expect(try await F.alerts(http, "?store_id=S02").isEmpty)

            // A longer lead time makes P2 short too; a shorter one clears P1.
            try await F.putReorderPoints(
                http,
                """
                [{"store_id": "S01", "product_id": "P1", "reorder_point": 5, "lead_time_hours": 16},
                 {"store_id": "S01", "product_id": "P2", "reorder_point": 5, "lead_time_hours": 217}]
                """)
            let deadline = ContinuousClock.now + .seconds(10)
            var products: [String] = []
            while ContinuousClock.now < deadline {
                products = try await F.alerts(http).compactMap { $0["product_id"] as? String }
                if products == ["P2"] { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(products == ["P2"])
        }
    }

    @Test func stockBelowEachRowsReorderPoint() async throws {
        try await TestServer.run(configure: F.configure(webhook: nil)) { server in
            let http = server.http
            try await F.putReorderPoints(
                http,
                """
                [{"store_id": "S01", "product_id": "P1", "reorder_point": 10, "lead_time_hours": 0},
                 {"store_id": "S01", "product_id": "P2", "reorder_point": 10, "lead_time_hours": 0},
                 {"store_id": "S01", "category": "dairy", "reorder_point": 50, "lead_time_hours": 0}]
                """)
            try await F.post(
                http,
                [
                    F.stock("c1", "count", 5, product: "P1", at: F.ago(600)),  // below its own 10
                    F.stock("c2", "count", 21, product: "P2", at: F.ago(600)),  // its own 10 wins over dairy's 50
                    F.sale("s2", 1, product: "P2", at: F.ago(300), category: "dairy"),
                    F.stock("c3", "count", 21, product: "P3", at: F.ago(600)),  // below dairy's 50, its category
                    F.sale("s3", 1, product: "P3", at: F.ago(300), category: "dairy"),
                    F.stock("c4", "count", 1, product: "P4", at: F.ago(600)),  // no reorder point
                    F.stock("c5", "count", 1, product: "P1", store: "S02", at: F.ago(600)),  // none for S02
                ])
            var rows: [[String: Any]] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                rows = try await http.get("/v1/stock?below=reorder").json["rows"] as? [[String: Any]] ?? []
                if rows.count >= 2 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(rows.map { "\($0["store_id"] ?? "")/\($0["product_id"] ?? "")" } == ["S01/P1", "S01/P3"])
            #expect(rows.map { $0["on_hand"] as? Int } == [5, 20])
            let filtered = try await http.get("/v1/stock?below=reorder&product_id=P3&format=csv")
            #expect(filtered.status == 200)
            #expect(filtered.text.split(whereSeparator: \.isNewline).count == 2, "\(filtered.text)")
            let units = try await http.get("/v1/stock?below=6")
            #expect((units.json["rows"] as? [[String: Any]])?.count == 3, "a number still works: \(units.text)")
            let bad = try await http.get("/v1/stock?below=reorders")
            #expect(bad.status == 400)
            #expect(bad.errorCode == "invalid_below")
        }
    }

    /// `tidemark serve` configured by its flags and environment: every URL of
    /// `TIDEMARK_WEBHOOK_URLS` gets the notification, signed with `--webhook-secret`.
    @Test func aServerProcessNotifiesEveryConfiguredURL() async throws {
        let receiver = WebhookReceiver()
        try await receiver.run { url in
            try await TestDatabase.withFreshDatabase { database, _ in
                let server = try await ServerProcess.start(
                    arguments: [
                        "--database-url", database.urlString, "--port", "0", "--log-level", "warning", "--pipelines", ShippedPipelines.directory,
                        "--no-auth", "--webhook-secret", F.secret, "--alert-interval-ms", "100", "--webhook-backoff-ms", "100",
                    ], environment: ["TIDEMARK_WEBHOOK_URLS": "\(url)?first,\(url)?second"])
                let http = HTTPTestClient(baseURL: server.baseURL)
                try await F.putReorderPoints(http, #"[{"store_id": "S01", "product_id": "P1", "reorder_point": 10, "lead_time_hours": 0}]"#)
                try await F.post(http, [F.stock("c1", "count", 0, at: F.ago(60))])
                let received = try await receiver.waitForAccepted(2)
                #expect(try await server.terminate() == 0)
                #expect(received.count == 2)
                #expect(received.allSatisfy { F.isSigned($0) && $0.type == "alert.fired" && $0.alert["kind"] as? String == "stock_out" })
                #expect(Set(received.compactMap { $0.headers["x-tidemark-delivery"] }).count == 2, "one notification per URL")
            }
        }
    }

    /// Two servers on one database, both evaluating and delivering: each notification once.
    @Test func twoServersOnOneDatabaseNotifyEachTransitionOnce() async throws {
        let receiver = WebhookReceiver()
        try await receiver.run { url in
            try await TestServer.run(configure: F.configure(webhook: url)) { first in
                var configuration = ServerConfiguration(database: first.databaseURL, pipelines: try ShippedPipelines.catalog())
                configuration.port = 0
                configuration.requireAPIKeys = false
                F.configure(webhook: url)(&configuration)
                let app = buildApplication(configuration: configuration, logger: TestServer.quietLogger)
                try await app.test(.live) { client in
                    let second = HTTPTestClient(baseURL: "http://127.0.0.1:\(try #require(client.port))")
                    try await F.putReorderPoints(
                        second,
                        """
                        [{"store_id": "S01", "product_id": "P1", "reorder_point": 10, "lead_time_hours": 0},
                         {"store_id": "S01", "product_id": "P2", "reorder_point": 10, "lead_time_hours": 0}]
                        """)
                    for round in 0..<3 {
                        // Low on both products (posted to either node), then received again.
                        try await F.post(first.http, [F.stock("low-\(round)-1", "count", 2, product: "P1", at: F.ago(600 - Int64(round) * 60))])
                        try await F.post(second, [F.stock("low-\(round)-2", "count", 0, product: "P2", at: F.ago(600 - Int64(round) * 60))])
                        try await receiver.waitForAccepted(4 * round + 2)
                        try await F.post(second, [F.stock("ok-\(round)-1", "count", 50, product: "P1", at: F.ago(570 - Int64(round) * 60))])
                        try await F.post(first.http, [F.stock("ok-\(round)-2", "count", 50, product: "P2", at: F.ago(570 - Int64(round) * 60))])
                        try await receiver.waitForAccepted(4 * round + 4)
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    let received = receiver.received.value
                    #expect(received.count == 12, "\(received.map { "\($0.type ?? "") \($0.alert["id"] ?? "")" })")
                    let transitions = received.map { "\($0.alert["id"] ?? "") \($0.type ?? "")" }
                    #expect(Set(transitions).count == 12, "no transition notified twice")
                    #expect(received.filter { $0.type == "alert.fired" }.count == 6)
                    #expect(Set(received.compactMap { $0.alert["kind"] as? String }) == ["low_stock", "stock_out"])
                    #expect(try await first.database.scalar("SELECT count(*) FROM tidemark_alerts") == 6, "one episode per condition and round")
                }
            }
        }
    }
}
