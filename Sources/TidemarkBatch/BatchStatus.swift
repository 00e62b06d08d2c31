import Logging
import PostgresNIO
import TidemarkRawLog

/// One recorded batch run, as `tidemark batch status` shows it.
public struct BatchRunRecord: Sendable, Encodable {
    public var id: Int64
    public var mode: String
    public var status: String
    public var startedAt: String
    public var finishedAt: String?
    public var previousWatermark: Int64?
    public var watermark: Int64?
    public var viewRows: String?
    public var error: String?

    /// The latest runs, newest first.
    public static func latest(client: PostgresClient, limit: Int, logger: Logger) async throws -> [BatchRunRecord] {
        let rows = try await client.boundedQuery(
            """
            SELECT id, mode, status, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), previous_watermark, watermark,
                view_rows::text, error
            FROM tidemark_batch_runs ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var records: [BatchRunRecord] = []
        for try await (id, mode, status, started, finished, previous, watermark, viewRows, error) in rows.decode(
            (Int64, String, String, String, String?, Int64?, Int64?, String?, String?).self)
        {
            records.append(
                BatchRunRecord(
                    id: id, mode: mode, status: status, startedAt: started, finishedAt: finished, previousWatermark: previous,
                    watermark: watermark, viewRows: viewRows, error: error))
        }
        return records
    }
}

/// The batch now published for one view.
public struct PublishedBatch: Sendable, Hashable {
    public var view: String
    public var generation: Int64
    public var watermark: Int64
    public var fingerprint: String
    public var publishedAtMicros: Int64

    public init(view: String, generation: Int64, watermark: Int64, fingerprint: String, publishedAtMicros: Int64) {
        self.view = view
        self.generation = generation
        self.watermark = watermark
        self.fingerprint = fingerprint
        self.publishedAtMicros = publishedAtMicros
    }

    public static func all(client: PostgresClient, logger: Logger) async throws -> [String: PublishedBatch] {
        var result: [String: PublishedBatch] = [:]
        let rows = try await client.boundedQuery(
            "SELECT view, generation, watermark, fingerprint, tidemark_micros(published_at) FROM tidemark_batch_views", logger: logger)
        for try await (view, generation, watermark, fingerprint, published) in rows.decode((String, Int64, Int64, String, Int64).self) {
            result[view] = PublishedBatch(
                view: view, generation: generation, watermark: watermark, fingerprint: fingerprint, publishedAtMicros: published)
        }
        return result
    }
}
