import ArgumentParser
import Foundation
import Logging
import TidemarkLoader

struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Post NDJSON files (plain or gzip) to a server in batches, retrying with the same ids.",
        discussion: "Exits 0 when every event was accepted or a duplicate, 1 otherwise.")

    @Option(help: "Base URL of the server (env TIDEMARK_URL).")
    var url: String = Environment.value("TIDEMARK_URL") ?? "http://127.0.0.1:8080"
    @Option(help: "API key sent as a bearer token (env TIDEMARK_API_KEY).")
    var apiKey: String?
    @Option(help: "Events per request.")
    var batchSize: Int = 1_000
    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 4
    @Option(help: "Attempts per batch before giving up.")
    var maxAttempts: Int = 10
    @Flag(help: "Print no progress bar.")
    var quiet = false
    @Argument(help: "NDJSON files (.ndjson or .ndjson.gz).")
    var files: [String]
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one file to load") }
        guard batchSize >= 1, concurrency >= 1, maxAttempts >= 1 else {
            throw ValidationError("--batch-size, --concurrency and --max-attempts must be at least 1")
        }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "tidemark.load")
        var configuration = LoadConfiguration(baseURL: url)
        configuration.apiKey = apiKey ?? Environment.value("TIDEMARK_API_KEY")
        configuration.batchSize = batchSize
        configuration.concurrency = concurrency
        configuration.maxAttempts = maxAttempts
        let bar = ProgressBar(enabled: !quiet)
        let started = ContinuousClock.now
        let summary = try await Loader(configuration: configuration, logger: logger).load(files: files) { done, total in
            bar.update(done: done, total: total, elapsed: ContinuousClock.now - started)
        }
        bar.finish()
        let seconds =
            Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
        let rate = seconds > 0 ? Int(Double(summary.events) / seconds) : 0
        print(
            "loaded \(summary.events) events in \(String(format: "%.1f", seconds)) s (\(rate)/s): accepted \(summary.accepted), duplicates \(summary.duplicates), rejected \(summary.rejected), failed \(summary.failed), retries \(summary.retries)"
        )
        for error in summary.errors { print("error: \(error)") }
        if !summary.isComplete { throw ExitCode(1) }
    }
}
