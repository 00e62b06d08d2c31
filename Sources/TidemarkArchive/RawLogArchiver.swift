import Logging
import PostgresNIO
import TidemarkEvents
import TidemarkRawLog

/// Exports the raw events that occurred before a day to one gzip NDJSON file per UTC day,
/// with `manifest.json` and `SHA256SUMS`. Export only: the raw log keeps every event, because
/// the batch layer recomputes views from all of it.
///
/// Re-runnable: a day is rewritten only when the database's count or seq range for it differ
/// from the manifest (a late event arrived) or its file is missing or resized.
public struct RawLogArchiver: Sendable {
    public struct Report: Sendable {
        public var before: CalendarDay
        public var written: [ArchiveEntry] = []
        public var upToDate: [ArchiveEntry] = []
        /// Archived days the database no longer holds; their files are kept.
        public var onlyInArchive: [String] = []

        public var days: Int { written.count + upToDate.count }
        public var events: Int { (written + upToDate).reduce(0) { $0 + $1.events } }
    }

    /// The UTC day of `occurred_at` as days since 1970, computed the same way whatever the
    /// session's time zone or date style.
    static let dayExpression = "((occurred_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01')::bigint"

    let client: PostgresClient
    let logger: Logger
    let progress: @Sendable (String) -> Void

    public init(client: PostgresClient, logger: Logger, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.client = client
        self.logger = logger
        self.progress = progress
    }

    public func archive(before: CalendarDay, into directory: ArchiveDirectory) async throws -> Report {
        directory.removeLeftovers()
        let existing = try directory.readManifest()
        var manifest = existing ?? ArchiveManifest(before: before)
        let counts = try await dayCounts(before: before)
        let plan = try ArchivePlan(counts: counts, manifest: manifest, before: before, directory: directory)
        let total = counts.values.reduce(0) { $0 + $1.events }
        progress("\(counts.count) days before \(before) hold \(total) events; \(plan.upToDate.count) up to date, \(plan.toWrite.count) to write")
        if !plan.onlyInArchive.isEmpty {
            progress("kept \(plan.onlyInArchive.count) archived days the database no longer holds: \(plan.onlyInArchive.joined(separator: ", "))")
        }
        var report = Report(before: before, upToDate: plan.upToDate, onlyInArchive: plan.onlyInArchive)
        let reasons = Dictionary(uniqueKeysWithValues: plan.toWrite.map { ($0.day, $0.reason) })
        if !plan.toWrite.isEmpty {
            try await export(days: plan.toWrite.map(\.day), before: before, into: directory) { entry in
                manifest.record(entry)
                // After every day, so the manifest and checksums describe the files even if the run stops here.
                try directory.write(manifest)
                report.written.append(entry)
                let reason = CalendarDay(text: entry.day).flatMap { reasons[$0] }.map { " (\($0))" } ?? ""
                progress("\(entry.day): \(entry.events) events, \(entry.bytes) bytes -> \(entry.file)\(reason)")
            }
        }
        manifest.extend(before: before)
        if manifest != existing { try directory.write(manifest) }
        return report
    }

    /// Events, min and max seq per day before the cutoff, in one pass over the raw log.
    func dayCounts(before: CalendarDay) async throws -> [CalendarDay: DayCount] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.dayExpression), count(*), min(seq), max(seq) FROM events
            WHERE occurred_at < \(before.start.rfc3339)::timestamptz GROUP BY 1
            """, logger: logger)
        var counts: [CalendarDay: DayCount] = [:]
        for try await (day, events, minSeq, maxSeq) in rows.decode((Int64, Int64, Int64, Int64).self) {
            counts[CalendarDay(daysSinceEpoch: day)] = DayCount(events: Int(events), minSeq: minSeq, maxSeq: maxSeq)
        }
        return counts
    }

    /// Streams the days' events in (day, seq) order and writes each day's file as its rows end.
    /// PostgreSQL sorts (spilling to disk if it must) and PostgresNIO reads rows only as fast as
    /// they are written, so memory holds one chunk of events, not a day or the archive.
    private func export(
        days: [CalendarDay], before: CalendarDay, into directory: ArchiveDirectory, finished: (ArchiveEntry) throws -> Void
    ) async throws {
        let rows = try await client.query(
            """
            SELECT \(unescaped: RawLogReader.columns) FROM events
            WHERE occurred_at < \(before.start.rfc3339)::timestamptz
                AND \(unescaped: Self.dayExpression) = ANY(\(days.map(\.daysSinceEpoch))::bigint[])
            ORDER BY \(unescaped: Self.dayExpression), seq
            """, logger: logger)
        var current: DayFileWriter?
        do {
            for try await row in rows {
                let logged = try RawLogReader.decode(row)
                let day = CalendarDay(containing: logged.event.occurredAt)
                if current?.day != day {
                    if let done = current { try finished(done.finish(archivedAt: .now())) }
                    current = nil
                    current = try DayFileWriter(day: day, directory: directory)
                }
                try current?.append(logged)
            }
            if let done = current { try finished(done.finish(archivedAt: .now())) }
        } catch {
            current?.discard()
            throw error
        }
    }
}
