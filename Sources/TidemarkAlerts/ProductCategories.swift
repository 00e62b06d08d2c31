import Logging
import PostgresNIO
import Synchronization
import TidemarkRawLog

/// Each product's category, as its latest sale (highest `seq`) with a category names it: a
/// category's reorder point applies to the products it holds.
///
/// Kept in memory and brought up to date from the raw log by `seq` (the one scan over every
/// sale happens at the first refresh); refreshing is idempotent, so concurrent callers are
/// harmless.
public final class ProductCategories: Sendable {
    struct State {
        var categories: [String: (category: String, seq: Int64)] = [:]
        /// Every sale with a category at or below it has been applied.
        var through: Int64 = 0
        var loaded = false
    }

    let client: PostgresClient
    let logger: Logger
    private let state = Mutex(State())

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The map, after reading the sales logged since the last refresh.
    public func refreshed() async throws -> [String: String] {
        let (through, loaded) = state.withLock { ($0.through, $0.loaded) }
        // Read first: seq follows commit order, so every event up to it is visible from now on,
        // and the scans below cover (through, upTo] exactly, however few of them are sales.
        let upTo = try await client.boundedQuery("SELECT coalesce(max(seq), 0)::bigint FROM events", logger: logger)
            .decode(Int64.self).reduce(0) { max($0, $1) }
        var found: [(productID: String, category: String, seq: Int64)] = []
        if !loaded {
            // The latest category of every product in one pass.
            let rows = try await client.boundedQuery(
                """
                SELECT DISTINCT ON (product_id) product_id, category, seq FROM events
                WHERE seq <= \(upTo) AND type = 'sale' AND category IS NOT NULL ORDER BY product_id, seq DESC
                """, logger: logger)
            for try await row in rows.decode((String, String, Int64).self) { found.append(row) }
        } else if upTo > through {
            let rows = try await client.boundedQuery(
                """
                SELECT product_id, category, seq FROM events
                WHERE seq > \(through) AND seq <= \(upTo) AND type = 'sale' AND category IS NOT NULL
                """, logger: logger)
            for try await row in rows.decode((String, String, Int64).self) { found.append(row) }
        }
        return state.withLock { state in
            for row in found where row.seq > (state.categories[row.productID]?.seq ?? 0) {
                state.categories[row.productID] = (row.category, row.seq)
            }
            state.through = max(state.through, upTo)
            state.loaded = true
            return state.categories.mapValues(\.category)
        }
    }
}
