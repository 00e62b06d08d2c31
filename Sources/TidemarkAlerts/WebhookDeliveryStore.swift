import Logging
import PostgresNIO
import TidemarkEvents
import TidemarkRawLog

/// One notification claimed for an attempt.
public struct ClaimedDelivery: Sendable {
    public enum Transition: String, Sendable {
        case fired
        case resolved
    }

    public var id: Int64
    public var transition: Transition
    public var url: String
    /// This attempt's number, from 1.
    public var attempt: Int
    public var alert: Alert
}

/// `tidemark_webhook_deliveries` (migration 7): the queue of notifications, shared by every
/// node on the database.
public struct WebhookDeliveryStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Claims up to `limit` due notifications for this node: rows another node is claiming are
    /// skipped (`FOR UPDATE SKIP LOCKED`), and each claimed row's next attempt moves a lease
    /// ahead, so nobody else takes it while this node sends it. A node that dies mid-attempt
    /// leaves it to be claimed again when the lease ends. A `resolved` waits until its
    /// episode's `fired` is settled for the same URL, so receivers see them in order.
    public func claim(limit: Int, lease: Duration) async throws -> [ClaimedDelivery] {
        let leaseMicros = lease.components.seconds * 1_000_000 + lease.components.attoseconds / 1_000_000_000_000
        let rows = try await client.boundedQuery(
            """
            WITH due AS (
                SELECT d.id FROM tidemark_webhook_deliveries d
                WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= now()
                  AND NOT (d.transition = 'resolved' AND EXISTS (
                      SELECT 1 FROM tidemark_webhook_deliveries f
                      WHERE f.alert_id = d.alert_id AND f.url = d.url AND f.transition = 'fired'
                        AND f.delivered_at IS NULL AND f.failed_at IS NULL))
                ORDER BY d.next_attempt_at, d.id
                LIMIT \(limit)
                FOR UPDATE OF d SKIP LOCKED
            ), claimed AS (
                UPDATE tidemark_webhook_deliveries d
                SET attempts = d.attempts + 1, next_attempt_at = now() + \(leaseMicros) * interval '1 microsecond'
                FROM due WHERE d.id = due.id
                RETURNING d.id, d.alert_id, d.transition, d.url, d.attempts
            )
            SELECT id, alert_id, transition, url, attempts::bigint FROM claimed ORDER BY id
            """, logger: logger)
        var rowsClaimed: [(id: Int64, alertID: Int64, transition: String, url: String, attempt: Int64)] = []
        for try await row in rows.decode((Int64, Int64, String, String, Int64).self) { rowsClaimed.append(row) }
        guard !rowsClaimed.isEmpty else { return [] }
        // The alerts as they are now: a `resolved` carries the resolution time.
        let alertRows = try await client.boundedQuery(
            "SELECT \(unescaped: AlertStore.columns) FROM tidemark_alerts WHERE id = ANY(\(rowsClaimed.map(\.alertID)))", logger: logger)
        var alerts: [Int64: Alert] = [:]
        for try await row in alertRows {
            let alert = try AlertStore.decode(row)
            alerts[alert.id] = alert
        }
        return rowsClaimed.compactMap { row in
            guard let alert = alerts[row.alertID] else { return nil }
            return ClaimedDelivery(
                id: row.id, transition: ClaimedDelivery.Transition(rawValue: row.transition) ?? .fired, url: row.url,
                attempt: Int(row.attempt), alert: alert)
        }
    }

    public func markDelivered(_ id: Int64) async throws {
        try await client.boundedQuery(
            "UPDATE tidemark_webhook_deliveries SET delivered_at = now(), last_error = NULL WHERE id = \(id) AND delivered_at IS NULL",
            logger: logger)
    }

    /// Records a failed attempt: retried after `retryAfter`, or given up when `giveUp`.
    public func markFailed(_ id: Int64, error: String, retryAfter: Duration, giveUp: Bool) async throws {
        let waitMicros = retryAfter.components.seconds * 1_000_000 + retryAfter.components.attoseconds / 1_000_000_000_000
        try await client.boundedQuery(
            """
            UPDATE tidemark_webhook_deliveries
            SET last_error = \(String(error.prefix(1_000))), next_attempt_at = now() + \(waitMicros) * interval '1 microsecond',
                failed_at = CASE WHEN \(giveUp) THEN now() END
            WHERE id = \(id) AND delivered_at IS NULL
            """, logger: logger)
    }
}
