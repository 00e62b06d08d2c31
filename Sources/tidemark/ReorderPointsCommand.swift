import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import TidemarkAlerts
import TidemarkEvents

struct ReorderPointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reorder-points", abstract: "Reorder points: load them from a file (the same rules as PUT /v1/reorder-points).",
        subcommands: [ReorderPointsLoadCommand.self])
}

struct ReorderPointsLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Set the reorder points of a CSV or YAML file; every mistake is listed and nothing is stored if there is one.",
        discussion: """
            CSV: a header row naming the columns store_id, product_id, category, reorder_point, lead_time_hours (in any order; \
            product_id or category may be left out), then one reorder point per row with product_id or category filled in. \
            YAML: a list of mappings with the same fields. Points already stored for the same store and product (or \
            category) are replaced; others stay as they are.
            """)

    @Argument(help: "A .csv, .yaml or .yml file.")
    var file: String
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let parsed: ReorderPointFile
        do {
            parsed = try ReorderPointFile.parse(text, path: file)
        } catch {
            throw ValidationError("\(file): \(error.description)")
        }
        let points: [ReorderPoint]
        switch ReorderPointValidator().validate(parsed.entries) {
        case .success(let valid): points = valid
        case .failure(let invalid):
            for issue in invalid.issues {
                let line = parsed.lines.indices.contains(issue.index) ? parsed.lines[issue.index] : 0
                let field = issue.field.isEmpty ? "" : " \(issue.field)"
                FileHandle.standardError.write(Data("\(file):\(line): entry \(issue.index)\(field): \(issue.message)\n".utf8))
            }
            let count = Set(invalid.issues.map(\.index)).count
            FileHandle.standardError.write(Data("\(count) of \(parsed.entries.count) reorder points are invalid; nothing was stored\n".utf8))
            throw ExitCode.failure
        }
        let logger = try logging.makeLogger(label: "tidemark.reorder-points")
        try await database.withMigratedClient(logger: logger) { client in
            try await ReorderPointStore(client: client, logger: logger).upsert(points)
        }
        print("stored \(points.count) reorder points from \(file)")
    }
}
