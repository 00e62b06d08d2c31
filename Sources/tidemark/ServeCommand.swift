import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TidemarkEvents
import TidemarkIngest
import TidemarkServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the HTTP server (starts the embedded PostgreSQL unless --database-url is given).")

    @Option(help: "Address to listen on (env TIDEMARK_HOST).")
    var host: String = Environment.value("TIDEMARK_HOST") ?? "127.0.0.1"
    @Option(help: "Port to listen on; 0 picks a free one (env TIDEMARK_PORT).")
    var port: Int = Environment.value("TIDEMARK_PORT").flatMap { Int($0) } ?? 8080
    @Option(help: "ISO 4217 currency of every sale and return (env TIDEMARK_CURRENCY).")
    var currency: String = Environment.value("TIDEMARK_CURRENCY") ?? "USD"
    @Option(help: "How many seconds ahead of this server's clock occurred_at may be.")
    var maxFutureSeconds: Int64 = 300
    @Option(help: "Largest accepted request body in bytes, before and after gzip.")
    var maxBodyBytes: Int = 16 * 1024 * 1024
    @Option(help: "Most events waiting for the group commit before requests get 429.")
    var queueCapacity: Int = 100_000
    @Option(help: "Milliseconds the group commit waits to fill a batch (0: natural batching only).")
    var lingerMs: Int = 0
    @Flag(help: "Serve without API keys: every endpoint answers anyone who can reach it (logged as a warning).")
    var noAuth = false
    @OptionGroup var pipelines: PipelineOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw ValidationError("--currency must be an ISO 4217 code of three capital letters, got \(currency)")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "tidemark")
        let catalog = try pipelines.load()
        let url = try database.resolve(logger: logger)
        var configuration = ServerConfiguration(database: url, pipelines: catalog)
        configuration.requireAPIKeys = !noAuth
        configuration.host = host
        configuration.port = port
        configuration.validation = ValidationRules(currency: currency, maxFutureSkewSeconds: maxFutureSeconds)
        configuration.ingestLimits.maxBodyBytes = maxBodyBytes
        configuration.groupCommit.queueCapacity = queueCapacity
        configuration.groupCommit.linger = .milliseconds(lingerMs)
        logger.info("using database", metadata: ["url": "\(url)"])
        let app = buildApplication(configuration: configuration, logger: logger) { [host] boundPort in
            // One plain line on stdout that scripts can wait for.
            FileHandle.standardOutput.write(Data("tidemark listening on http://\(host):\(boundPort)\n".utf8))
        }
        try await app.runService()
    }
}
