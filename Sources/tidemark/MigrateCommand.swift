import ArgumentParser
import PostgresNIO
import TidemarkRawLog

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the schema migrations the database has not seen (safe to repeat).")
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger(label: "tidemark.migrate")
        let url = try database.resolve(logger: logger)
        let applied = try await withPostgresClient(url: url, logger: logger) { client in
            try await Migrator().migrate(client: client, logger: logger)
        }
        print(applied.isEmpty ? "schema is up to date" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
    }
}
