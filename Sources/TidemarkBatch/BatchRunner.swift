import Foundation
import Logging
import PostgresNIO
import TidemarkPipelines
import TidemarkRawLog

/// `tidemark batch run`: recomputes every view inside PostgreSQL from the raw events with
/// `seq <= W` and publishes all of them with `W` in one transaction.
///
/// - `W` is `max(seq)` read while holding the raw-log append lock: every writer draws `seq`
///   values under that lock and keeps it until commit, so no lower `seq` can still appear.
/// - Full mode builds a new generation of each view's tables off to the side; readers
///   keep using the published one until the publishing transaction commits.
/// - Incremental mode folds the events in `(W_previous, W]` into the published tables in
///   place, inside the publishing transaction, touching only the buckets and keys they
///   hit; the fold is the same exact merge the serving layer uses. A view that has no
///   batch yet, or whose definition changed, is built in full.
/// - A killed or failed run rolls back: the previous batch keeps serving. The session
///   advisory lock `batchRun` keeps two runs from overlapping.
public struct BatchRunner: Sendable {
    public enum Mode: String, Sendable {
        case full
        case incremental
    }

    public struct Outcome: Sendable {
        public var runID: Int64
        public var watermark: Int64
        public var previousWatermark: Int64?
        public var rowsPerView: [String: Int64]
    }

    public struct AlreadyRunning: Error, CustomStringConvertible {
        public var holderPID: Int?
        public var description: String {
            "another batch run holds the batch lock\(holderPID.map { " (PostgreSQL backend pid \($0))" } ?? ""); "
                + "try again later, or pass --wait to wait for it"
        }
    }

    public let catalog: PipelineCatalog
    public let logger: Logger
    /// Progress lines for long runs (the CLI prints them on stderr).
    public let progress: @Sendable (String) -> Void

    /// Memory settings of the batch's own session; nil keeps the server's. (Measured on 10M
    /// events: work_mem 256MB made the views' aggregates slower, not faster, so the
    /// defaults are left alone unless an operator asks.)
    public struct SessionSettings: Sendable {
        public var workMem: String?
        public var maintenanceWorkMem: String?

        public init() {}
    }

    public let settings: SessionSettings

    public init(
        catalog: PipelineCatalog, logger: Logger, settings: SessionSettings = SessionSettings(),
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.catalog = catalog
        self.logger = logger
        self.settings = settings
        self.progress = progress
    }

    /// Runs once. Throws `AlreadyRunning` when another run holds the lock and `wait` is false.
    public func run(client: PostgresClient, mode: Mode, wait: Bool = false) async throws -> Outcome {
        try await client.withConnection { connection in
            try await run(on: connection, mode: mode, wait: wait)
        }
    }

    private func run(on connection: PostgresConnection, mode: Mode, wait: Bool) async throws -> Outcome {
        let lock = "\(AdvisoryLock.namespace), \(AdvisoryLock.batchRun.rawValue)"
        // For this session only (the connection is the runner's until it ends).
        if let workMem = settings.workMem {
            try await connection.query("SELECT set_config('work_mem', \(workMem), false)", logger: logger)
        }
        if let maintenanceWorkMem = settings.maintenanceWorkMem {
            try await connection.query("SELECT set_config('maintenance_work_mem', \(maintenanceWorkMem), false)", logger: logger)
        }
        if wait {
            progress("waiting for the batch lock")
            try await connection.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_lock(\(lock))"), logger: logger)
        } else {
            let acquired = try await scalar(connection, PostgresQuery(unsafeSQL: "SELECT pg_try_advisory_lock(\(lock))"), as: Bool.self)
            guard acquired == true else {
                let holder = try await scalar(
                    connection,
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
                            AND classid = \(AdvisoryLock.namespace) AND objid = \(AdvisoryLock.batchRun.rawValue) LIMIT 1
                            """), as: Int32.self)
                throw AlreadyRunning(holderPID: holder.map(Int.init))
            }
        }
        do {
            let outcome = try await runLocked(on: connection, mode: mode)
            _ = try? await connection.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock(\(lock))"), logger: logger)
            return outcome
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            _ = try? await connection.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock(\(lock))"), logger: logger)
            throw error
        }
    }

    private func runLocked(on connection: PostgresConnection, mode: Mode) async throws -> Outcome {
        // Runs left 'running' were killed: we hold the lock, so none is alive.
        try await connection.query(
            "UPDATE tidemark_batch_runs SET status = 'abandoned', finished_at = now() WHERE status = 'running'", logger: logger)
        let published = try await publishedViews(connection)
        try await dropUnpublishedTables(connection)

        let watermark = try await chooseWatermark(connection)
        let previous = published.values.map(\.watermark).min()
        let runID =
            try await scalar(
                connection,
                "INSERT INTO tidemark_batch_runs (mode, previous_watermark, watermark, status) VALUES (\(mode.rawValue), \(previous), \(watermark), 'running') RETURNING id",
                as: Int64.self) ?? 0
        progress("run \(runID): \(mode.rawValue), watermark \(previous.map(String.init) ?? "none") -> \(watermark)")

        do {
            var rows: [String: Int64] = [:]
            var built: [String: ViewTable] = [:]
            var replaced: [ViewTable] = []
            var fullViews: Set<String> = []
            // Full builds first, outside the publishing transaction: nobody reads them yet.
            for view in catalog.views {
                let current = published[view.name]
                let reusable = current.map { $0.fingerprint == view.fingerprint } ?? false
                guard mode == .full || !reusable else { continue }
                if current != nil, !reusable {
                    progress("\(view.name): definition changed since the published batch, rebuilding in full")
                }
                let generation = try await scalar(connection, "SELECT nextval('tidemark_batch_generation')", as: Int64.self) ?? 1
                let table = ViewTable(definition: view, generation: generation)
                let started = ContinuousClock.now
                progress("\(view.name): building generation \(generation) from seq (0, \(watermark)]")
                try await setConfiguration(connection, Self.parallelBuildSettings)
                for statement in table.fullStatements + table.indexStatements {
                    try await execute(connection, statement, from: 0, to: watermark)
                }
                try await setConfiguration(connection, Self.parallelBuildSettings.map { ($0.0, "DEFAULT") })
                rows[view.name] = try await count(connection, table)
                built[view.name] = table
                fullViews.insert(view.name)
                if let current { replaced.append(ViewTable(definition: current.definition, generation: current.generation)) }
                progress("\(view.name): \(rows[view.name] ?? 0) rows in \(started.duration(to: .now).formatted)")
            }

            try await connection.query("BEGIN", logger: logger)
            for view in catalog.views where built[view.name] == nil {
                guard let current = published[view.name] else { continue }
                let table = ViewTable(definition: view, generation: current.generation)
                let started = ContinuousClock.now
                if current.watermark < watermark {
                    for statement in table.incrementalStatements {
                        try await execute(connection, statement, from: current.watermark, to: watermark)
                    }
                }
                rows[view.name] = try await count(connection, table)
                built[view.name] = table
                progress("\(view.name): folded seq (\(current.watermark), \(watermark)] in \(started.duration(to: .now).formatted)")
            }
            for (viewName, table) in built {
                try await connection.query(
                    """
                    INSERT INTO tidemark_batch_views (view, generation, watermark, fingerprint, run_id, published_at)
                    VALUES (\(viewName), \(table.generation), \(watermark), \(table.definition.fingerprint), \(runID), now())
                    ON CONFLICT (view) DO UPDATE SET generation = EXCLUDED.generation, watermark = EXCLUDED.watermark,
                        fingerprint = EXCLUDED.fingerprint, run_id = EXCLUDED.run_id, published_at = EXCLUDED.published_at
                    """, logger: logger)
            }
            let rowsJSON = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
            try await connection.query(
                "UPDATE tidemark_batch_runs SET status = 'succeeded', finished_at = now(), view_rows = \(rowsJSON)::jsonb WHERE id = \(runID)",
                logger: logger)
            try await connection.query("COMMIT", logger: logger)
            progress("run \(runID): published watermark \(watermark)")

            // Fresh generations get statistics at once rather than when autovacuum comes round
            // (still under the batch lock, so the run's time includes it).
            for table in built.values where fullViews.contains(table.definition.name) {
                for statement in table.analyzeStatements {
                    // Published already: a failure here only delays statistics to autovacuum.
                    do {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    } catch {
                        logger.warning("could not analyze a new batch table", metadata: ["table": "\(table.name)", "error": "\(error)"])
                    }
                }
            }
            if !fullViews.isEmpty { progress("analyzed \(fullViews.sorted().joined(separator: ", "))") }

            // Readers that still hold the replaced generation finish first (DROP waits for
            // them); if that takes too long, the next run's clean-up drops it.
            for table in replaced {
                do {
                    try await connection.query("SET lock_timeout = '10s'", logger: logger)
                    for statement in table.dropStatements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                    try await connection.query("RESET lock_timeout", logger: logger)
                } catch {
                    logger.warning(
                        "could not drop a replaced batch table yet", metadata: ["table": "\(table.name)", "error": "\(String(reflecting: error))"])
                }
            }
            return Outcome(
                runID: runID, watermark: watermark, previousWatermark: previous, rowsPerView: rows)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            let message = String(reflecting: error)
            _ = try? await connection.query(
                "UPDATE tidemark_batch_runs SET status = 'failed', finished_at = now(), error = \(message) WHERE id = \(runID)", logger: logger)
            throw error
        }
    }

    struct PublishedView {
        var definition: PipelineDefinition
        var generation: Int64
        var watermark: Int64
        var fingerprint: String
    }

    private func publishedViews(_ connection: PostgresConnection) async throws -> [String: PublishedView] {
        var result: [String: PublishedView] = [:]
        let rows = try await connection.query("SELECT view, generation, watermark, fingerprint FROM tidemark_batch_views", logger: logger)
        for try await (view, generation, watermark, fingerprint) in rows.decode((String, Int64, Int64, String).self) {
            guard let definition = catalog.view(named: view) else { continue }
            result[view] = PublishedView(definition: definition, generation: generation, watermark: watermark, fingerprint: fingerprint)
        }
        return result
    }

    /// Tables of runs that were killed before publishing, and replaced generations not dropped yet.
    private func dropUnpublishedTables(_ connection: PostgresConnection) async throws {
        var published: Set<String> = []
        let rows = try await connection.query("SELECT view, generation FROM tidemark_batch_views", logger: logger)
        for try await (view, generation) in rows.decode((String, Int64).self) {
            published.insert("\(ViewTable.prefix)\(view)_g\(generation)")
        }
        var stale: [String] = []
        let tables = try await connection.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'tidemark\\_view\\_%'", logger: logger)
        for try await name in tables.decode(String.self) {
            let base = name.hasSuffix("_moves") ? String(name.dropLast("_moves".count)) : name
            if !published.contains(base) { stale.append(name) }
        }
        for name in stale.sorted() {
            progress("dropping \(name), left by an earlier run")
            try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(name)"), logger: logger)
        }
    }

    private func chooseWatermark(_ connection: PostgresConnection) async throws -> Int64 {
        try await connection.query("BEGIN", logger: logger)
        try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.rawLogAppend.rawValue))"), logger: logger
        )
        let watermark = try await scalar(connection, "SELECT coalesce(max(seq), 0) FROM events", as: Int64.self) ?? 0
        try await connection.query("COMMIT", logger: logger)
        return watermark
    }

    /// For full builds only. PostgreSQL overestimates the groups of a view's aggregate and
    /// then plans it on one core; with parallel plans costed as free it sorts in parallel
    /// workers and aggregates the merged, sorted stream, which also hands the primary key an
    /// already sorted table (BENCHMARKS.md: 1.64x the hand-written GROUP BY before, 1.42x after).
    static let parallelBuildSettings = [("parallel_setup_cost", "0"), ("parallel_tuple_cost", "0")]

    private func setConfiguration(_ connection: PostgresConnection, _ settings: [(String, String)]) async throws {
        for (name, value) in settings {
            // Names and values are this file's constants, never input.
            try await connection.query(PostgresQuery(unsafeSQL: "SET \(name) = \(value)"), logger: logger)
        }
    }

    private func execute(_ connection: PostgresConnection, _ statement: String, from: Int64, to: Int64) async throws {
        var binds = PostgresBindings()
        if statement.contains("$1") {
            binds.append(from)
            binds.append(to)
        }
        try await connection.query(PostgresQuery(unsafeSQL: statement, binds: binds), logger: logger)
    }

    private func count(_ connection: PostgresConnection, _ table: ViewTable) async throws -> Int64 {
        try await scalar(connection, PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table.name)"), as: Int64.self) ?? 0
    }

    private func scalar<T: PostgresDecodable & Sendable>(_ connection: PostgresConnection, _ query: PostgresQuery, as type: T.Type) async throws -> T?
    where T._DecodableType == T {
        for try await value in try await connection.query(query, logger: logger).decode(T?.self) { return value }
        return nil
    }
}

extension ViewTable {
    var dropStatements: [String] {
        (definition.hasOnHand ? ["DROP TABLE IF EXISTS \(movesName)"] : []) + ["DROP TABLE IF EXISTS \(name)"]
    }
}

extension Duration {
    var formatted: String {
        let seconds = Double(components.seconds) + Double(components.attoseconds) / 1e18
        return String(format: "%.2f s", seconds)
    }
}
