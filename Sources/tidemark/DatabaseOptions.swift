import ArgumentParser
import Logging
import TidemarkEmbeddedPostgres
import TidemarkRawLog

/// Which PostgreSQL to use: an external one by URL, or the embedded cluster.
struct DatabaseOptions: ParsableArguments {
    @Option(
        help:
            "postgres://user:password@host:port/database of an existing server (env TIDEMARK_DATABASE_URL or DATABASE_URL). Without it Tidemark runs its own cluster."
    )
    var databaseURL: String?

    @OptionGroup var cluster: EmbeddedClusterOptions

    /// The URL given, or the embedded cluster's after starting it (idempotent).
    func resolve(logger: Logger, settings: Settings = .environmentOnly()) throws -> DatabaseURL {
        if let databaseURL = settings.string("databaseUrl", flag: databaseURL) {
            return try DatabaseURL(parsing: databaseURL)
        }
        let url = try cluster.cluster(logger: logger, settings: settings).start()
        return try DatabaseURL(parsing: url)
    }
}
