import Logging
import PostgresNIO
import TidemarkBatch
import TidemarkPipelines
import TidemarkRawLog

/// Reads the batch part of answers from the published tables.
///
/// A generation at a given watermark never changes (an incremental run moves the
/// watermark), so answers are cached by `(generation, watermark, query)`; the query's
/// bucket bounds are aligned, so relative ranges such as `-24h` hit the cache until the
/// next bucket starts.
public final class BatchReader: Sendable {
    public enum Answer: Sendable {
        case rows([RowKey: [MeasureState]])
        /// The batch is no longer the one published: the caller switches and asks again.
        case stale
    }

    struct CacheKey: Hashable, Sendable {
        var generation: Int64
        var watermark: Int64
        var query: ViewQuery
    }

    let client: PostgresClient
    let logger: Logger
    private let cache: BoundedCache<CacheKey, [RowKey: [MeasureState]]>

    public init(client: PostgresClient, logger: Logger, cacheLimit: Int = 256) {
        self.client = client
        self.logger = logger
        self.cache = BoundedCache(limit: cacheLimit)
    }

    public func rows(of definition: PipelineDefinition, batch: PublishedBatch, query: ViewQuery) async throws -> Answer {
        let key = CacheKey(generation: batch.generation, watermark: batch.watermark, query: query)
        if let cached = cache[key] { return .rows(cached) }
        let table = ViewTable(definition: definition, generation: batch.generation)
        let statement = table.readQuery(query)
        var rows: [RowKey: [MeasureState]] = [:]
        var watermark: Int64?
        do {
            for try await row in try await client.boundedQuery(PostgresQuery(unsafeSQL: statement.sql, binds: statement.binds), logger: logger) {
                watermark = try row.makeRandomAccess()[0].decode(Int64.self)
                if let (rowKey, states) = try table.decodeRow(row, query: query) {
                    RollUp.combine(states, into: &rows, at: rowKey)
                }
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {
            return .stale  // the generation was replaced and dropped
        }
        guard watermark == batch.watermark else { return .stale }
        cache.store(rows, for: key)
        return .rows(rows)
    }

    /// The batch's movement totals after each time, for on-hand merges; nil when stale.
    public func movementsAfter(
        _ keys: [(storeID: String, productID: String, after: Int64)], of definition: PipelineDefinition, batch: PublishedBatch
    ) async throws -> [Int64]? {
        guard !keys.isEmpty else { return [] }
        let statement = ViewTable(definition: definition, generation: batch.generation).movementsAfterQuery(keys)
        var totals = [Int64](repeating: 0, count: keys.count)
        var seen = 0
        do {
            for try await (watermark, ordinal, total) in try await client.boundedQuery(
                PostgresQuery(unsafeSQL: statement.sql, binds: statement.binds), logger: logger
            ).decode((Int64, Int64, Int64).self) {
                guard watermark == batch.watermark else { return nil }
                totals[Int(ordinal) - 1] = total
                seen += 1
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {
            return nil
        }
        return seen == keys.count ? totals : nil
    }
}
