import ArgumentParser
import TidemarkEmbeddedPostgres

struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Run the embedded PostgreSQL cluster (under --data-dir, default .tidemark).",
        subcommands: [Start.self, Stop.self, Status.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the cluster if needed, start it if stopped, print its URL.")
        @OptionGroup var cluster: EmbeddedClusterOptions
        @OptionGroup var logging: LoggingOptions

        func run() throws {
            let logger = try logging.makeLogger(label: "tidemark.db")
            print(try cluster.cluster(logger: logger).start())
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the cluster (fast shutdown; data is kept).")
        @OptionGroup var cluster: EmbeddedClusterOptions
        @OptionGroup var logging: LoggingOptions

        func run() throws {
            let logger = try logging.makeLogger(label: "tidemark.db")
            let stopped = try cluster.cluster(logger: logger).stop()
            print(stopped ? "stopped" : "not running")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the URL if the cluster runs; exit 3 if it does not.")
        @OptionGroup var cluster: EmbeddedClusterOptions
        @OptionGroup var logging: LoggingOptions

        func run() throws {
            let logger = try logging.makeLogger(label: "tidemark.db")
            guard let url = try cluster.cluster(logger: logger).runningURL() else {
                print("not running")
                throw ExitCode(3)
            }
            print(url)
        }
    }
}
