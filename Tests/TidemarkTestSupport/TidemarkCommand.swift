import Foundation
import TidemarkEmbeddedPostgres

/// Runs the `tidemark` binary built with the tests, as cron would.
public struct TidemarkCommand: Sendable {
    public let child: ChildProcess
    public let outputPath: String

    public static func start(_ arguments: [String]) throws -> TidemarkCommand {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-cmd-\(UUID().uuidString).log").path
        return TidemarkCommand(child: try ChildProcess.spawn([ServerProcess.binary] + arguments, outputPath: outputPath), outputPath: outputPath)
    }

    /// Runs to the end: exit status and everything printed (stdout and stderr).
    public static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let command = try start(arguments)
        let status = try await command.child.exitStatus()
        return (status, command.output)
    }

    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// `batch run` against a database with the shipped pipelines.
    public static func batchArguments(databaseURL: String, _ extra: [String] = []) -> [String] {
        ["batch", "run", "--database-url", databaseURL, "--pipelines", ShippedPipelines.directory, "--log-level", "warning"] + extra
    }
}
