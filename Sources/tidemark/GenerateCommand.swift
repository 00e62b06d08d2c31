import ArgumentParser
import Foundation
import NIOCore
import TidemarkEvents
import TidemarkGenerator
import TidemarkLoader

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write realistic synthetic retail events as NDJSON (gzip when the file ends in .gz).",
        discussion: "The same --seed and options always give the same events.")

    @Option(help: "Seed of the pseudo-random generator.")
    var seed: UInt64 = 1
    @Option(help: "First day (YYYY-MM-DD, UTC); default: yesterday.")
    var date: String?
    @Option(help: "Number of days.")
    var days: Int = 1
    @Option(help: "Average events per day.")
    var eventsPerDay: Int = 50_000
    @Option(help: "Number of stores (the last one is a web shop).")
    var stores: Int = 12
    @Option(help: "Number of products.")
    var products: Int = 400
    @Option(help: "Currency of sales and returns.")
    var currency: String = "USD"
    @Option(name: .shortAndLong, help: "Output file (.ndjson or .ndjson.gz), or - for standard output.")
    var output: String = "-"

    func validate() throws {
        guard days >= 1, eventsPerDay >= 1, stores >= 1, products >= 1 else {
            throw ValidationError("--days, --events-per-day, --stores and --products must be at least 1")
        }
        if let date { _ = try Self.parseDay(date) }
    }

    func run() throws {
        let firstDay = try date.map(Self.parseDay) ?? Self.yesterday()
        var configuration = GeneratorConfiguration(firstDay: firstDay)
        configuration.seed = seed
        configuration.days = days
        configuration.eventsPerDay = eventsPerDay
        configuration.stores = stores
        configuration.products = products
        configuration.currency = currency
        var generator = RetailGenerator(configuration: configuration)
        let writer = try NDJSONWriter(path: output)
        var total = 0
        while let events = generator.nextDay() {
            try writer.write(ByteBuffer(bytes: try Event.ndjson(events)))
            total += events.count
        }
        try writer.close()
        if output != "-" {
            FileHandle.standardError.write(Data("wrote \(total) events to \(output)\n".utf8))
        }
    }

    static func parseDay(_ text: String) throws -> Timestamp {
        do {
            return try Timestamp(rfc3339: text + "T00:00:00Z")
        } catch {
            throw ValidationError("--date must be YYYY-MM-DD, got \(text)")
        }
    }

    static func yesterday() -> Timestamp {
        let day: Int64 = 86_400_000_000
        let now = Timestamp.now().microsecondsSinceEpoch
        return Timestamp(microsecondsSinceEpoch: (now / day - 1) * day)
    }
}
