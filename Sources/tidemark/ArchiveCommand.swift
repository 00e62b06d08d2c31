import ArgumentParser
import Foundation
import Logging
import TidemarkArchive
import TidemarkEvents

struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Export raw events before a day to checksummed .ndjson.gz files, one per UTC day, and verify them.",
        discussion: """
            `tidemark archive --before 2026-11-01 --out DIR` is `tidemark archive export`. The raw log keeps every event \
            (the batch layer recomputes from all of it); restore with `tidemark load DIR/events-*.ndjson.gz`.
            """,
        subcommands: [ArchiveExportCommand.self, ArchiveVerifyCommand.self],
        defaultSubcommand: ArchiveExportCommand.self)
}

struct ArchiveExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write DIR/events-YYYY-MM-DD.ndjson.gz for every UTC day before --before, with manifest.json and SHA256SUMS.",
        discussion: """
            Safe to repeat: days whose events are already archived are left alone, and a day that received late events \
            is rewritten. Exit status: 0 done, 1 failed (files already renamed into place are complete), 75 another \
            archive run is writing to DIR.
            """)

    @Option(help: "Archive events that occurred before this UTC day: YYYY-MM-DD, or Nd for N days before today (e.g. 30d).")
    var before: String
    @Option(help: "The archive folder (created if missing).")
    var out: String
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        _ = try cutoff()
    }

    func cutoff() throws -> CalendarDay {
        do {
            return try CalendarDay.cutoff(before, today: CalendarDay(containing: .now()))
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "tidemark.archive")
        let before = try cutoff()
        let started = ContinuousClock.now
        let progress: @Sendable (String) -> Void = { line in
            let elapsed = started.duration(to: .now).components.seconds
            FileHandle.standardError.write(Data("[archive +\(elapsed)s] \(line)\n".utf8))
        }
        do {
            // The folder first, so a wrong path or a second run fails before a database is started.
            let directory = try ArchiveDirectory(path: out)
            let report = try await database.withMigratedClient(logger: logger) { client in
                try await RawLogArchiver(client: client, logger: logger, progress: progress).archive(before: before, into: directory)
            }
            let state = report.written.isEmpty ? "up to date" : "wrote \(report.written.count) of \(report.days) days"
            progress("archive \(out) \(state): \(report.days) days, \(report.events) events before \(before)")
        } catch let error as ArchiveError where error.isLocked {
            FileHandle.standardError.write(Data("tidemark archive: \(error)\n".utf8))
            throw ExitCode(75)
        } catch let error as ArchiveError {
            FileHandle.standardError.write(Data("tidemark archive failed: \(error)\n".utf8))
            throw ExitCode.failure
        } catch {
            FileHandle.standardError.write(Data("tidemark archive failed: \(String(reflecting: error))\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct ArchiveVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recheck every file of an archive against SHA256SUMS and manifest.json; exit 1 naming each bad file.")

    @Argument(help: "The archive folder.")
    var directory: String

    func run() throws {
        let report: ArchiveVerifier.Report
        do {
            report = try ArchiveVerifier.verify(directory: directory) { file, ok in
                FileHandle.standardError.write(Data("\(file): \(ok ? "OK" : "FAILED")\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("tidemark archive verify: \(error)\n".utf8))
            throw ExitCode.failure
        }
        for problem in report.problems {
            FileHandle.standardError.write(Data("FAILED \(directory)/\(problem)\n".utf8))
        }
        guard report.isIntact else {
            FileHandle.standardError.write(Data("archive \(directory) is damaged: \(report.problems.count) problem(s)\n".utf8))
            throw ExitCode.failure
        }
        FileHandle.standardError.write(Data("archive \(directory) verified: \(report.filesChecked) files, \(report.events) events\n".utf8))
    }
}
