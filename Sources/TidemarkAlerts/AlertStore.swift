import Logging
import PostgresNIO
import TidemarkEvents
import TidemarkRawLog

/// `tidemark_alerts` and the evaluation bookkeeping (migration 7).
public struct AlertStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// What one applied evaluation changed.
    public struct Applied: Sendable {
        public var fired: [Int64] = []
        public var resolved: [Int64] = []
    }

    /// Applies an evaluation made from the raw log up to `seq`, in one transaction: takes the
    /// evaluation lock (nil when another node holds it), refuses a view older than the last
    /// one applied (nil), reads the reorder points, and records the transitions with a queued
    /// notification per transition and URL.
    ///
    /// The reorder points are read here, under the lock, so two nodes never judge by
    /// different ones in the wrong order; the partial unique index on firing alerts is the
    /// final word that one condition has one open episode.
    public func apply(
        throughSeq seq: Int64, webhookURLs: [String],
        conditions: @Sendable @escaping (ReorderPointTable) -> [AlertKey: AlertFigures]
    ) async throws -> Applied? {
        try await client.boundedTransaction(logger: logger) { connection -> Applied? in
            let locked = try await connection.query(
                "SELECT pg_try_advisory_xact_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.alertEvaluation.rawValue))", logger: logger
            ).decode(Bool.self).reduce(false) { $0 || $1 }
            guard locked else { return nil }
            let applied = try await connection.query("SELECT evaluated_seq FROM tidemark_alert_evaluation", logger: logger)
                .decode(Int64.self).reduce(0) { max($0, $1) }
            guard seq >= applied else { return nil }

            let points = try await ReorderPointStore.list(on: connection, logger: logger).map(\.point)
            let holding = conditions(ReorderPointTable(points))
            var firing: [AlertKey: Int64] = [:]
            let rows = try await connection.query(
                "SELECT id, kind, store_id, product_id FROM tidemark_alerts WHERE state = 'firing'", logger: logger)
            for try await (id, kind, storeID, productID) in rows.decode((Int64, String, String, String).self) {
                guard let kind = AlertKind(rawValue: kind) else { continue }
                firing[AlertKey(kind: kind, storeID: storeID, productID: productID)] = id
            }
            let plan = AlertRules.transitions(firing: firing, conditions: holding)
            var result = Applied()
            if !plan.resolve.isEmpty {
                let resolved = try await connection.query(
                    """
                    UPDATE tidemark_alerts SET state = 'resolved', resolved_at = now()
                    WHERE id = ANY(\(plan.resolve)) AND state = 'firing' RETURNING id
                    """, logger: logger)
                for try await id in resolved.decode(Int64.self) { result.resolved.append(id) }
            }
            if !plan.fire.isEmpty {
                let fire = plan.fire
                // NULL cannot travel in a bigint array here: -1 stands for "no cover figure".
                let inserted = try await connection.query(
                    """
                    INSERT INTO tidemark_alerts (
                        kind, store_id, product_id, state, on_hand, reorder_point, lead_time_hours, units_sold_24h, hours_of_cover)
                    SELECT u.kind, u.store_id, u.product_id, 'firing', u.on_hand, u.reorder_point, u.lead_time_hours,
                        u.units_sold, NULLIF(u.cover, -1)
                    FROM unnest(\(fire.map(\.0.kind.rawValue)), \(fire.map(\.0.storeID)), \(fire.map(\.0.productID)),
                        \(fire.map(\.1.onHand)), \(fire.map(\.1.reorderPoint)), \(fire.map(\.1.leadTimeHours)),
                        \(fire.map(\.1.unitsSold24h)), \(fire.map { $0.1.hoursOfCover ?? -1 }))
                        AS u(kind, store_id, product_id, on_hand, reorder_point, lead_time_hours, units_sold, cover)
                    ON CONFLICT (kind, store_id, product_id) WHERE state = 'firing' DO NOTHING
                    RETURNING id
                    """, logger: logger)
                for try await id in inserted.decode(Int64.self) { result.fired.append(id) }
            }
            let transitions = result.fired.map { ($0, "fired") } + result.resolved.map { ($0, "resolved") }
            if !transitions.isEmpty && !webhookURLs.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO tidemark_webhook_deliveries (alert_id, transition, url)
                    SELECT t.alert_id, t.transition, u.url
                    FROM unnest(\(transitions.map(\.0)), \(transitions.map(\.1))) AS t(alert_id, transition)
                    CROSS JOIN unnest(\(webhookURLs)) AS u(url)
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            try await connection.query(
                "UPDATE tidemark_alert_evaluation SET evaluated_seq = greatest(evaluated_seq, \(seq)), evaluated_at = now()",
                logger: logger)
            return result
        }
    }

    /// The stores with reorder points, and whether any episode is firing, in one round trip.
    public func watched() async throws -> (storeIDs: Set<String>, anyFiring: Bool) {
        let rows = try await client.boundedQuery(
            """
            SELECT coalesce((SELECT array_agg(DISTINCT store_id) FROM tidemark_reorder_points), '{}'::text[]),
                EXISTS (SELECT 1 FROM tidemark_alerts WHERE state = 'firing')
            """, logger: logger)
        for try await (stores, anyFiring) in rows.decode(([String], Bool).self) { return (Set(stores), anyFiring) }
        return ([], false)
    }

    /// Filters of `GET /v1/alerts`; nil is "any".
    public struct Filter: Sendable {
        public var state: Alert.State?
        public var kinds: [AlertKind]?
        public var storeIDs: [String]?
        public var productIDs: [String]?
        public var limit = 1_000

        public init() {}
    }

    /// Newest first.
    public func list(_ filter: Filter) async throws -> [Alert] {
        let rows = try await client.boundedQuery(
            """
            SELECT \(unescaped: Self.columns) FROM tidemark_alerts
            WHERE (\(filter.state?.rawValue)::text IS NULL OR state = \(filter.state?.rawValue)::text)
              AND (\(filter.kinds?.map(\.rawValue))::text[] IS NULL OR kind = ANY(\(filter.kinds?.map(\.rawValue))::text[]))
              AND (\(filter.storeIDs)::text[] IS NULL OR store_id = ANY(\(filter.storeIDs)::text[]))
              AND (\(filter.productIDs)::text[] IS NULL OR product_id = ANY(\(filter.productIDs)::text[]))
            ORDER BY fired_at DESC, id DESC
            LIMIT \(filter.limit)
            """, logger: logger)
        var alerts: [Alert] = []
        for try await row in rows { alerts.append(try Self.decode(row)) }
        return alerts
    }

    /// The columns `decode` reads.
    static let columns = """
        id, kind, store_id, product_id, state, tidemark_micros(fired_at), tidemark_micros(resolved_at), on_hand, reorder_point,
            lead_time_hours::bigint, units_sold_24h, hours_of_cover
        """

    static func decode(_ row: PostgresRow) throws -> Alert {
        let (id, kind, storeID, productID, state, firedAt, resolvedAt, onHand, reorderPoint, leadTime, unitsSold, cover) = try row.decode(
            (Int64, String, String, String, String, Int64, Int64?, Int64, Int64, Int64, Int64, Double?).self)
        return Alert(
            id: id, key: AlertKey(kind: AlertKind(rawValue: kind) ?? .lowStock, storeID: storeID, productID: productID),
            state: Alert.State(rawValue: state) ?? .firing, firedAt: Timestamp(microsecondsSinceEpoch: firedAt),
            resolvedAt: resolvedAt.map(Timestamp.init(microsecondsSinceEpoch:)),
            figures: AlertFigures(
                onHand: onHand, reorderPoint: reorderPoint, leadTimeHours: leadTime, unitsSold24h: unitsSold, hoursOfCover: cover))
    }

    /// Firing alerts by kind (every kind, zeros included) and notifications not yet settled, for `/metrics`.
    public func gauges() async throws -> (firing: [AlertKind: Int], pendingDeliveries: Int) {
        var firing = Dictionary(uniqueKeysWithValues: AlertKind.allCases.map { ($0, 0) })
        let rows = try await client.boundedQuery(
            "SELECT kind, count(*)::bigint FROM tidemark_alerts WHERE state = 'firing' GROUP BY kind", logger: logger)
        for try await (kind, count) in rows.decode((String, Int64).self) {
            if let kind = AlertKind(rawValue: kind) { firing[kind] = Int(count) }
        }
        let pending = try await client.boundedQuery(
            "SELECT count(*)::bigint FROM tidemark_webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL", logger: logger
        ).decode(Int64.self).reduce(0) { $0 + $1 }
        return (firing, Int(pending))
    }
}
