import ArgumentParser
import Logging
import TidemarkEmbeddedPostgres

/// `--data-dir`: where the embedded PostgreSQL cluster lives.
struct EmbeddedClusterOptions: ParsableArguments {
    @Option(help: "Where the embedded cluster lives (env TIDEMARK_DATA_DIR).")
    var dataDir: String = Environment.value("TIDEMARK_DATA_DIR") ?? ".tidemark"

    func cluster(logger: Logger) -> EmbeddedPostgres {
        EmbeddedPostgres(directory: dataDir + "/postgres", logger: logger)
    }
}
