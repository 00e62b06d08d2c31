import Logging
import PostgresNIO
import TidemarkEvents
import TidemarkRawLog

/// A reorder point as stored, with when it was last set.
public struct StoredReorderPoint: Sendable, Hashable {
    public var point: ReorderPoint
    public var updatedAt: Timestamp
}

/// `tidemark_reorder_points` (migration 7).
public struct ReorderPointStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Sets every point given (a point already stored for the same store and product or
    /// category is replaced), all in one transaction; points not named stay as they are.
    public func upsert(_ points: [ReorderPoint]) async throws {
        let products = points.filter { $0.productID != nil }
        let categories = points.filter { $0.category != nil }
        try await client.boundedTransaction(logger: logger) { connection in
            if !products.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO tidemark_reorder_points (store_id, product_id, reorder_point, lead_time_hours)
                    SELECT * FROM unnest(\(products.map(\.storeID)), \(products.map { $0.productID! }),
                        \(products.map(\.reorderPoint)), \(products.map(\.leadTimeHours))::integer[])
                    ON CONFLICT (store_id, product_id) WHERE product_id IS NOT NULL DO UPDATE
                    SET reorder_point = excluded.reorder_point, lead_time_hours = excluded.lead_time_hours, updated_at = now()
                    """, logger: logger)
            }
            if !categories.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO tidemark_reorder_points (store_id, category, reorder_point, lead_time_hours)
                    SELECT * FROM unnest(\(categories.map(\.storeID)), \(categories.map { $0.category! }),
                        \(categories.map(\.reorderPoint)), \(categories.map(\.leadTimeHours))::integer[])
                    ON CONFLICT (store_id, category) WHERE category IS NOT NULL DO UPDATE
                    SET reorder_point = excluded.reorder_point, lead_time_hours = excluded.lead_time_hours, updated_at = now()
                    """, logger: logger)
            }
        }
    }

    /// Stored points, by store then product, then the category defaults; `storeIDs` nil for all.
    public func list(storeIDs: [String]? = nil, limit: Int = Int.max) async throws -> [StoredReorderPoint] {
        try await Self.list(on: client, storeIDs: storeIDs, limit: limit, logger: logger)
    }

    /// The same, on a connection inside the caller's transaction.
    static func list(
        on connection: some PostgresQueryRunner, storeIDs: [String]? = nil, limit: Int = Int.max, logger: Logger
    ) async throws -> [StoredReorderPoint] {
        let rows = try await connection.run(
            """
            SELECT store_id, product_id, category, reorder_point, lead_time_hours::bigint, tidemark_micros(updated_at)
            FROM tidemark_reorder_points
            WHERE \(storeIDs)::text[] IS NULL OR store_id = ANY(\(storeIDs)::text[])
            ORDER BY store_id, product_id NULLS LAST, category
            LIMIT \(Int64(min(limit, Int(Int64.max))))
            """, logger: logger)
        var points: [StoredReorderPoint] = []
        for try await (storeID, productID, category, reorderPoint, leadTime, updatedAt) in rows.decode(
            (String, String?, String?, Int64, Int64, Int64).self)
        {
            let target: ReorderPoint.Target = productID.map { .product($0) } ?? .category(category ?? "")
            points.append(
                StoredReorderPoint(
                    point: ReorderPoint(storeID: storeID, target: target, reorderPoint: reorderPoint, leadTimeHours: leadTime),
                    updatedAt: Timestamp(microsecondsSinceEpoch: updatedAt)))
        }
        return points
    }
}

/// Runs a query on a pool or on one connection (inside a transaction) alike.
protocol PostgresQueryRunner: Sendable {
    func run(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence
}

extension PostgresClient: PostgresQueryRunner {
    func run(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.query(query, logger: logger)
    }
}

extension PostgresConnection: PostgresQueryRunner {
    func run(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.query(query, logger: logger)
    }
}
