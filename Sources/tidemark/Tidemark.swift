import ArgumentParser

@main
struct Tidemark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tidemark",
        abstract: "Fresh and exact retail sales and stock analytics: ingest, raw log, batch and speed layers.",
        subcommands: [
            ServeCommand.self, BatchCommand.self, MigrateCommand.self, KeysCommand.self, DatabaseCommand.self, GenerateCommand.self, LoadCommand.self,
            ArchiveCommand.self, ReorderPointsCommand.self,
        ])
}
