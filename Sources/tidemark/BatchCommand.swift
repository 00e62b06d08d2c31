import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import TidemarkBatch
import TidemarkPipelines
import TidemarkRawLog

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "The batch layer: recompute the views from the raw log, and show past runs.",
        subcommands: [BatchRunCommand.self, BatchStatusCommand.self, BatchSQLCommand.self])
}

struct BatchRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Recompute every view from the raw log up to a new watermark and publish them together.",
        discussion: """
            By default only the buckets and keys touched by events since the last run are recomputed \
            (views that are new or whose definition changed are built in full). Exit status: 0 published, \
            1 failed (the previous batch keeps serving), 75 another run holds the lock.
            """)

    @Flag(help: "Recompute everything rather than only what new events touched.")
    var full = false
    @Flag(help: "Wait for a run already in progress instead of exiting with status 75.")
    var wait = false
    @Option(help: "work_mem of the batch's PostgreSQL session, e.g. 64MB (default: the server's).")
    var workMem: String?
    @Option(help: "maintenance_work_mem of the batch's session, for the primary keys of rebuilt views (default: the server's).")
    var maintenanceWorkMem: String?
    @OptionGroup var pipelines: PipelineOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger(label: "tidemark.batch")
        let catalog = try pipelines.load()
        let started = ContinuousClock.now
        let progress: @Sendable (String) -> Void = { line in
            let elapsed = started.duration(to: .now).components.seconds
            FileHandle.standardError.write(Data("[batch +\(elapsed)s] \(line)\n".utf8))
        }
        do {
            let outcome = try await database.withMigratedClient(logger: logger) { client in
                var settings = BatchRunner.SessionSettings()
                settings.workMem = workMem
                settings.maintenanceWorkMem = maintenanceWorkMem
                return try await BatchRunner(catalog: catalog, logger: logger, settings: settings, progress: progress)
                    .run(client: client, mode: full ? .full : .incremental, wait: wait)
            }
            let rows = outcome.rowsPerView.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            print(
                "batch run \(outcome.runID) published watermark \(outcome.watermark) (previous \(outcome.previousWatermark.map(String.init) ?? "none")); rows: \(rows)"
            )
        } catch let error as BatchRunner.AlreadyRunning {
            FileHandle.standardError.write(Data("tidemark batch run: \(error.description)\n".utf8))
            throw ExitCode(75)
        } catch {
            FileHandle.standardError.write(Data("tidemark batch run failed; the previous batch keeps serving: \(String(reflecting: error))\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct BatchStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the latest batch runs, newest first.")

    @Option(help: "How many runs to show.")
    var limit: Int = 10
    @Flag(help: "Print JSON rather than a table.")
    var json = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger(label: "tidemark.batch")
        let (runs, published) = try await database.withMigratedClient(logger: logger) { client in
            return (
                try await BatchRunRecord.latest(client: client, limit: limit, logger: logger),
                try await PublishedBatch.all(client: client, logger: logger)
            )
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(runs), as: UTF8.self))
            return
        }
        if published.isEmpty {
            print("no batch published yet: views are served from the speed layer alone")
        } else {
            for batch in published.values.sorted(by: { $0.view < $1.view }) {
                print("serving \(batch.view): generation \(batch.generation), watermark \(batch.watermark)")
            }
        }
        print("")
        print("id     mode         status     started (UTC)             finished (UTC)            watermark        rows / error")
        for run in runs {
            let watermark = "\(run.previousWatermark.map(String.init) ?? "-")->\(run.watermark.map(String.init) ?? "-")"
            let detail = run.error ?? run.viewRows ?? ""
            print(
                [
                    String(run.id).padding(6), run.mode.padding(12), run.status.padding(10), run.startedAt.padding(25),
                    (run.finishedAt ?? "-").padding(25), watermark.padding(16), detail,
                ]
                .joined(separator: " "))
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

struct BatchSQLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql", abstract: "Print the SQL the batch layer runs for each view ($1, $2: the seq range).")

    @Option(help: "Only this view.")
    var view: String?
    @Flag(help: "The incremental statements rather than the full build.")
    var incremental = false
    @OptionGroup var pipelines: PipelineOptions

    func run() throws {
        for definition in try pipelines.load().views where view == nil || definition.name == view {
            let table = ViewTable(definition: definition, generation: 0)
            print("-- \(definition.name) (\(definition.file))")
            for statement in incremental ? table.incrementalStatements : table.fullStatements + table.indexStatements {
                print(statement + ";\n")
            }
        }
    }
}
