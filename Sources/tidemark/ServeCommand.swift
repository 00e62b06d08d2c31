import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TidemarkAlerts
import TidemarkEvents
import TidemarkIngest
import TidemarkPipelines
import TidemarkRawLog
import TidemarkServer
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the HTTP server (starts the embedded PostgreSQL unless --database-url is given).")

    @Option(help: "YAML file of settings; flags and environment variables win over it (env TIDEMARK_CONFIG). See docs/CONFIGURATION.md.")
    var config: String?
    @Option(help: "Address to listen on (env TIDEMARK_HOST; default 127.0.0.1).")
    var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (env TIDEMARK_PORT; default 8080).")
    var port: Int?
    @Option(help: "ISO 4217 currency of every sale and return (env TIDEMARK_CURRENCY; default USD).")
    var currency: String?
    @Option(help: "How many seconds ahead of this server's clock occurred_at may be (default 300).")
    var maxFutureSeconds: Int?
    @Option(help: "Largest accepted request body in bytes, before and after gzip (default 16 MiB).")
    var maxBodyBytes: Int?
    @Option(help: "Seconds a request body may take to arrive (default 60).")
    var bodyTimeoutSeconds: Int?
    @Option(help: "Seconds without request data before a connection is closed (default 30).")
    var idleTimeoutSeconds: Int?
    @Option(help: "Most events waiting for the group commit before requests get 429 (default 100000).")
    var queueCapacity: Int?
    @Option(help: "Milliseconds the group commit waits to fill a batch (0: natural batching only; default 0).")
    var lingerMs: Int?
    @Option(help: "PostgreSQL connections of this server: one for the group commit, the rest for queries (default 8).")
    var databaseConnections: Int?
    @Option(help: "Milliseconds between alert evaluations; they also run as soon as new events arrive (default 5000).")
    var alertIntervalMs: Int?
    @Option(help: "URL that alert notifications are posted to; repeat for several (env TIDEMARK_WEBHOOK_URLS, comma-separated).")
    var webhookUrl: [String] = []
    @Option(help: "Secret that signs notifications (X-Tidemark-Signature); required with --webhook-url (env TIDEMARK_WEBHOOK_SECRET).")
    var webhookSecret: String?
    @Option(help: "Attempts per notification before it is given up (default 8).")
    var webhookMaxAttempts: Int?
    @Option(help: "Milliseconds before the first retry of a notification; doubles after each failure, up to 5 minutes (default 1000).")
    var webhookBackoffMs: Int?
    @Option(help: "Milliseconds one notification attempt may take (default 10000).")
    var webhookTimeoutMs: Int?
    @Flag(help: "Serve without API keys: every endpoint answers anyone who can reach it (logged as a warning; env TIDEMARK_NO_AUTH=true).")
    var noAuth = false
    @OptionGroup var pipelines: PipelineOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let settings = try await Settings.load(configFile: config ?? Environment.value("TIDEMARK_CONFIG"))
        let logger = try logging.makeLogger(label: "tidemark", settings: settings)
        // Settings first: a wrong value should stop the server before the cluster starts.
        var configuration = ServerConfiguration(
            database: try DatabaseURL(parsing: "postgres://127.0.0.1/unset"), pipelines: PipelineCatalog(views: []))
        try await apply(settings, to: &configuration)
        configuration.pipelines = try pipelines.load(settings: settings)
        let url = try database.resolve(logger: logger, settings: settings)
        configuration.database = url
        logger.info("using database", metadata: ["url": "\(url)"])
        let app = buildApplication(configuration: configuration, logger: logger) { [host = configuration.host] boundPort in
            // One plain line on stdout that scripts can wait for.
            FileHandle.standardOutput.write(Data("tidemark listening on http://\(host):\(boundPort)\n".utf8))
        }
        // Graceful shutdown answers every in-flight request first (the HTTP server stops
        // before the services it calls, and a write gives up after 10 s). Past 30 s it is
        // escalated to cancellation, which closes the pool's connections; past 45 s the
        // process exits anyway (see `exitIfStillRunning`).
        var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(30)
        let backstop = Task { await Self.exitIfStillRunning(after: .seconds(45), logger: logger) }
        defer { backstop.cancel() }
        try await ServiceGroup(configuration: group).run()
    }

    /// The last resort of a shutdown: a task that neither finishes nor heeds cancellation (a
    /// PostgreSQL answer that never comes, see `boundedQuery`) would keep the process up until
    /// systemd kills it. Exiting loses nothing: events are acknowledged only once committed,
    /// and a request left unanswered is retried by its client with the same ids. The status
    /// says that the shutdown was not clean.
    private static func exitIfStillRunning(after limit: Duration, logger: Logger) async {
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            try? await Task.sleep(for: limit)
            if Task.isCancelled { return }
            logger.critical("shutdown did not finish; exiting without waiting for the rest", metadata: ["signal": "\(signal)", "after": "\(limit)"])
            Foundation.exit(1)
        }
    }

    /// Each setting from its flag, else the environment, else the file, else the default,
    /// checked here so that a bad value stops the server with its name.
    private func apply(_ settings: Settings, to configuration: inout ServerConfiguration) async throws {
        configuration.requireAPIKeys = try await !settings.bool("noAuth", flag: noAuth)
        configuration.host = settings.string("host", flag: host) ?? "127.0.0.1"
        configuration.port = try await settings.int("port", flag: port) ?? 8080
        guard (0...65535).contains(configuration.port) else {
            throw ValidationError("port must be between 0 and 65535, got \(configuration.port)")
        }
        let currency = settings.string("currency", flag: currency) ?? "USD"
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw ValidationError("currency must be an ISO 4217 code of three capital letters, got \(currency)")
        }
        let maxFuture = try await positive("maxFutureSeconds", maxFutureSeconds, settings, default: 300, allowZero: true)
        configuration.validation = ValidationRules(currency: currency, maxFutureSkewSeconds: Int64(maxFuture))
        configuration.ingestLimits.maxBodyBytes = try await positive("maxBodyBytes", maxBodyBytes, settings, default: 16 * 1024 * 1024)
        configuration.ingestLimits.bodyReadTimeout = .seconds(try await positive("bodyTimeoutSeconds", bodyTimeoutSeconds, settings, default: 60))
        configuration.idleTimeout = .seconds(try await positive("idleTimeoutSeconds", idleTimeoutSeconds, settings, default: 30))
        configuration.groupCommit.queueCapacity = try await positive("queueCapacity", queueCapacity, settings, default: 100_000)
        configuration.groupCommit.linger = .milliseconds(try await positive("lingerMs", lingerMs, settings, default: 0, allowZero: true))
        configuration.databaseConnections = try await positive("databaseConnections", databaseConnections, settings, default: 8)
        guard configuration.databaseConnections >= 2 else {
            throw ValidationError("databaseConnections must be at least 2 (one for the group commit, one for queries)")
        }
        try await applyAlerts(settings, to: &configuration.alerts)
    }

    private func applyAlerts(_ settings: Settings, to alerts: inout AlertsConfiguration) async throws {
        alerts.evaluationInterval = .milliseconds(try await positive("alertIntervalMs", alertIntervalMs, settings, default: 5_000))
        var webhook = alerts.webhook
        webhook.urls = try await settings.strings("webhookUrls", flag: webhookUrl)
        for url in webhook.urls {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host?.isEmpty == false
            else {
                throw ValidationError("webhookUrls: '\(url)' is not an http:// or https:// URL with a host")
            }
        }
        webhook.secret = settings.string("webhookSecret", flag: webhookSecret) ?? ""
        guard webhook.urls.isEmpty || !webhook.secret.isEmpty else {
            throw ValidationError("webhookUrls need webhookSecret (--webhook-secret or TIDEMARK_WEBHOOK_SECRET): notifications are signed with it")
        }
        webhook.maxAttempts = try await positive("webhookMaxAttempts", webhookMaxAttempts, settings, default: 8)
        webhook.initialBackoff = .milliseconds(try await positive("webhookBackoffMs", webhookBackoffMs, settings, default: 1_000))
        webhook.timeout = .milliseconds(try await positive("webhookTimeoutMs", webhookTimeoutMs, settings, default: 10_000))
        // Retries and other nodes' notifications are looked for this often (the evaluator wakes it for its own).
        webhook.pollInterval = min(alerts.evaluationInterval, .seconds(1))
        alerts.webhook = webhook
    }

    private func positive(_ key: String, _ flag: Int?, _ settings: Settings, default value: Int, allowZero: Bool = false) async throws -> Int {
        let number = try await settings.int(key, flag: flag) ?? value
        guard number > 0 || (allowZero && number == 0) else {
            throw ValidationError("\(key) must be \(allowZero ? "0 or more" : "greater than 0"), got \(number)")
        }
        return number
    }
}
