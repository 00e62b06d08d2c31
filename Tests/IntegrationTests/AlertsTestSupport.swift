import Crypto
import Foundation
import PostgresNIO
import Testing
import TidemarkAlerts
import TidemarkEvents
import TidemarkServer
import TidemarkTestSupport

/// Events, reorder points and waits shared by the alert tests.
enum AlertsFixture {
    static let secret = "receiver-shared-secret"

    /// Short intervals, so tests wait milliseconds rather than seconds.
    static func configure(webhook url: String?, maxAttempts: Int = 8) -> @Sendable (inout ServerConfiguration) -> Void {
        { configuration in
            configuration.alerts.evaluationInterval = .milliseconds(100)
            configuration.alerts.webhook.urls = url.map { [$0] } ?? []
            configuration.alerts.webhook.secret = secret
            configuration.alerts.webhook.initialBackoff = .milliseconds(200)
            configuration.alerts.webhook.maxAttempts = maxAttempts
            configuration.alerts.webhook.pollInterval = .milliseconds(20)
            configuration.alerts.webhook.timeout = .seconds(5)
        }
    }

    /// A time `seconds` before now, as RFC 3339.
    static func ago(_ seconds: Int64) -> String {
        Timestamp.now().adding(seconds: -seconds).rfc3339
    }

    static func stock(_ id: String, _ kind: String, _ quantity: Int, product: String = "P1", store: String = "S01", at: String) -> String {
        Sample.json(["id": id, "type": "stock", "kind": kind, "quantity": quantity, "occurred_at": at, "store_id": store, "product_id": product])
    }

    static func sale(
        _ id: String, _ quantity: Int, product: String = "P1", store: String = "S01", at: String, category: String? = nil
    ) -> String {
        Sample.json([
            "id": id, "type": "sale", "quantity": quantity, "unit_price_cents": 100, "occurred_at": at, "store_id": store,
            "product_id": product, "category": category,
        ])
    }

    static func post(_ http: HTTPTestClient, _ events: [String]) async throws {
        let answer = try await http.post("/v1/events", text: "[" + events.joined(separator: ",") + "]")
        #expect(answer.status == 200, "\(answer.text)")
    }

    static func putReorderPoints(_ http: HTTPTestClient, _ json: String) async throws {
        let answer = try await http.put("/v1/reorder-points", text: json)
        #expect(answer.status == 200, "\(answer.text)")
    }

    /// Waits until an evaluation has been applied from the raw log up to its last event.
    static func waitUntilEvaluated(_ server: TestServer) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let last = try await server.database.scalar("SELECT coalesce(max(seq), 0) FROM events")
            let evaluated = try await server.database.scalar("SELECT evaluated_seq FROM tidemark_alert_evaluation")
            if evaluated >= last { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("no evaluation reached the last event within 20 s")
    }

    /// `GET /v1/alerts` with a query string.
    static func alerts(_ http: HTTPTestClient, _ query: String = "") async throws -> [[String: Any]] {
        let answer = try await http.get("/v1/alerts" + query)
        #expect(answer.status == 200, "\(answer.text)")
        return answer.json["alerts"] as? [[String: Any]] ?? []
    }

    /// The notification is signed with the shared secret, and its timestamp header is the body's `sent_at`.
    static func isSigned(_ notification: WebhookReceiver.Notification) -> Bool {
        guard let header = notification.headers["x-tidemark-signature"], let timestamp = notification.headers["x-tidemark-timestamp"],
            let seconds = Int64(timestamp)
        else { return false }
        // Checked as a receiver would, with its own HMAC rather than the server's code.
        let code = HMAC<SHA256>.authenticationCode(for: notification.body, using: SymmetricKey(data: Data(secret.utf8)))
        return header == "sha256=" + code.map { String(format: "%02x", $0) }.joined()
            && notification.json["sent_at"] as? String == Timestamp(secondsSinceEpoch: seconds).rfc3339
    }
}
