import ArgumentParser
import Logging
import TidemarkEmbeddedPostgres

/// `--data-dir`: where the embedded PostgreSQL cluster lives.
struct EmbeddedClusterOptions: ParsableArguments {
    @Option(help: "Where the embedded cluster lives (env TIDEMARK_DATA_DIR; default .tidemark).")
    var dataDir: String?

    func cluster(logger: Logger, settings: Settings = .environmentOnly()) -> EmbeddedPostgres {
        let directory = settings.string("dataDir", flag: dataDir) ?? ".tidemark"
        return EmbeddedPostgres(directory: directory + "/postgres", logger: logger)
    }
}
