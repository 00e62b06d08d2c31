import Foundation
import Logging
import PostgresNIO
import Testing
import TidemarkBatch
import TidemarkEvents
import TidemarkGenerator
import TidemarkPipelines
import TidemarkRawLog
import TidemarkServing
import TidemarkSpeed
import TidemarkTestSupport

/// Random event streams (duplicates, late events, returns, counts, adjustments, ties) written
/// to a real raw log, handed to the speed layer or read back from the log (a random mix),
/// and split by batch runs at random points: for every shipped view the
/// merged answer (batch at W ⊕ speed above W) equals `Oracle`'s recomputation, before and
/// after the speed layer switches to a newer batch, and an incremental batch equals `--full`.
///
/// `TIDEMARK_PROPERTY_CASES` sets the number of cases (default 240), `TIDEMARK_PROPERTY_SEED`
/// replays one failing case.
@Suite struct MergePropertyTests {
    static let workers = 4

    @Test func mergedAnswersEqualAFullRecomputation() async throws {
        let environment = ProcessInfo.processInfo.environment
        let cases = environment["TIDEMARK_PROPERTY_CASES"].flatMap(Int.init) ?? 240
        let seeds: [UInt64]
        if let replay = environment["TIDEMARK_PROPERTY_SEED"].flatMap(UInt64.init) {
            seeds = [replay]
        } else {
            var source = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
            seeds = (0..<cases).map { _ in source.next() }
        }
        let catalog = try ShippedPipelines.catalog()
        let handedOff = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<Self.workers {
                let mine = seeds.enumerated().filter { $0.offset % Self.workers == worker }.map(\.element)
                guard !mine.isEmpty else { continue }
                group.addTask {
                    try await TestDatabase.withFreshDatabase { _, client in
                        var handedOff = 0
                        for seed in mine {
                            handedOff += try await PropertyCase(seed: seed, catalog: catalog, client: client).run()
                        }
                        return handedOff
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        if seeds.count >= 20 { #expect(handedOff > 0, "some events reached the speed layer by hand-off") }
    }
}

struct PropertyCase {
    let seed: UInt64
    let catalog: PipelineCatalog
    let client: PostgresClient
    let logger: Logger = {
        var logger = Logger(label: "property")
        logger.logLevel = .warning
        return logger
    }()

    /// - Returns: how many events the speed layer folded from hand-offs.
    func run() async throws -> Int {
        var random = SplitMix64(seed: seed)
        let events = Self.randomStream(&random)
        let chunks = Self.split(events, &random)
        let batchAfter = Set((0..<chunks.count).filter { _ in random.chance(0.4) })
        try await reset()

        let writer = RawLogWriter(client: client, singleStatementLimit: random.chance(0.5) ? 256 : 4)
        let runner = BatchRunner(catalog: catalog, logger: logger)
        let speed = SpeedLayer(catalog: catalog)
        let tailer = SpeedTailer(speed: speed, client: client, logger: logger)
        let engine = QueryEngine(speed: speed, tailer: nil, batchReader: BatchReader(client: client, logger: logger))
        var written: [Event] = []
        // In most cases the writer hands what it stored to the speed layer, as the server does;
        // some hand-offs are lost, like another server's events, so the log must fill the gaps
        // (here `catchUp`'s reads; the service loop's gap reads are `SpeedHandOffTests`').
        let handsOff = random.chance(0.7)
        for (index, chunk) in chunks.enumerated() {
            let outcome = try await writer.append(chunk, logger: logger)
            if handsOff, let stored = outcome.stored, !random.chance(0.2) { tailer.handOff(stored) }
            if handsOff, random.chance(0.5) { tailer.foldHandOffsWithoutReading() }
            written += chunk
            if index == chunks.count / 2 { try await tailer.catchUp() }  // a speed layer with history before the switch
            if batchAfter.contains(index) { _ = try await runner.run(client: client, mode: .incremental) }
        }
        let expected = Oracle.allViews(Oracle.stored(written))
        try await tailer.catchUp()
        try await compare(engine, expected, Oracle.stored(written), stage: "merged, batch at \(batchAfter.sorted()) of \(chunks.count) chunks")

        _ = try await runner.run(client: client, mode: .incremental)
        try await tailer.catchUp()
        try await compare(engine, expected, Oracle.stored(written), stage: "after an incremental run to the end")

        let incremental = try await snapshot()
        _ = try await runner.run(client: client, mode: .full)
        let full = try await snapshot()
        #expect(incremental == full, "seed \(seed): incremental batch tables differ from --full")
        return tailer.eventsFoldedFromHandOffs
    }

    func compare(_ engine: QueryEngine, _ expected: [String: Oracle.Rows], _ stored: [Event], stage: String) async throws {
        for view in catalog.views {
            let answer = try await engine.answer(view, ViewQuery.everything(of: view))
            let actual = Self.rows(answer)
            let wanted = expected[view.name] ?? [:]
            #expect(actual == wanted, "seed \(seed), \(stage), view \(view.name): \(Self.difference(actual, wanted))")
        }
        // Roll-ups: coarser grain and fewer keys, against the oracle computed at that level.
        let byProductHour = try #require(catalog.view(named: "sales_by_product_hour"))
        let dayByStore = try await engine.answer(
            byProductHour, ViewQuery(view: byProductHour.name, grain: .bucket(.day), groupBy: [.storeID]))
        let wantedDayByStore = Oracle.sales(stored) {
            "\($0.occurredAt.microsecondsSinceEpoch - (($0.occurredAt.microsecondsSinceEpoch % 86_400_000_000) + 86_400_000_000) % 86_400_000_000)|\($0.storeID)"
        }
        #expect(Self.rows(dayByStore) == wantedDayByStore, "seed \(seed), \(stage): hour->day, by store")

        let stock = try #require(catalog.view(named: "stock_levels"))
        let perStore = try await engine.answer(
            stock, ViewQuery(view: stock.name, grain: nil, groupBy: [.storeID], filters: [.productID: ["P1", "P2"]]))
        var wantedPerStore: [String: Int64] = [:]
        for (key, values) in Oracle.stockLevels(stored) {
            let parts = key.split(separator: "|")
            guard parts[2] == "P1" || parts[2] == "P2" else { continue }
            wantedPerStore[String(parts[1]), default: 0] += values["on_hand"]!!
        }
        let onHandIndex = try #require(stock.measures.firstIndex { $0.name == "on_hand" })
        let actualPerStore = Dictionary(uniqueKeysWithValues: perStore.rows.map { ($0.keys[0], $0.values[onHandIndex] ?? 0) })
        #expect(actualPerStore == wantedPerStore, "seed \(seed), \(stage): on hand per store")
    }

    static func rows(_ answer: ViewAnswer) -> Oracle.Rows {
        var rows: Oracle.Rows = [:]
        for row in answer.rows {
            let key = ([row.bucket.map(String.init) ?? "-"] + row.keys).joined(separator: "|")
            var values: [String: Int64?] = [:]
            for (measure, value) in zip(answer.definition.measures, row.values) { values[measure.name] = value }
            rows[key] = values
        }
        return rows
    }

    static func difference(_ actual: Oracle.Rows, _ wanted: Oracle.Rows) -> String {
        var lines: [String] = []
        for key in Set(actual.keys).union(wanted.keys).sorted() where actual[key] != wanted[key] {
            lines.append("\(key): got \(actual[key].map { "\($0)" } ?? "no row"), want \(wanted[key].map { "\($0)" } ?? "no row")")
            if lines.count == 4 { break }
        }
        return lines.joined(separator: "; ")
    }

    /// The raw log and batch state emptied, for the next case on the same database.
    func reset() async throws {
        try await client.withConnection { connection in
            for statement in [
                "ALTER TABLE events DISABLE TRIGGER USER", "TRUNCATE events RESTART IDENTITY", "ALTER TABLE events ENABLE TRIGGER USER",
                "DELETE FROM tidemark_batch_views", "DELETE FROM tidemark_batch_runs",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            var tables: [String] = []
            for try await name in try await connection.query(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'tidemark\\_view\\_%'", logger: logger
            ).decode(String.self) {
                tables.append(name)
            }
            for table in tables { try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"), logger: logger) }
        }
    }

    /// Every published table's rows as text, without the generation in the name.
    func snapshot() async throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for (view, batch) in try await PublishedBatch.all(client: client, logger: logger) {
            let definition = try #require(catalog.view(named: view))
            let table = ViewTable(definition: definition, generation: batch.generation)
            for (label, name) in [(view, table.name), (view + "_moves", table.movesName)] where label == view || definition.hasOnHand {
                var rows: [String] = []
                for try await row in try await client.query(PostgresQuery(unsafeSQL: "SELECT t::text FROM \(name) t ORDER BY 1"), logger: logger)
                    .decode(String.self)
                {
                    rows.append(row)
                }
                result[label] = rows
            }
        }
        return result
    }

    static let start = Timestamp(secondsSinceEpoch: 1_795_132_800)  // 2026-11-21T00:00:00Z

    /// A short, dense stream over few keys so that collisions happen: repeated ids, equal
    /// timestamps (ties broken by id, byte-wise: "e9" > "e10"), late events, counts.
    static func randomStream(_ random: inout SplitMix64) -> [Event] {
        let count = Int.random(in: 5...70, using: &random)
        let tieTimes = (0..<4).map { start.adding(seconds: Int64($0) * 1_800 + 3_599) }
        var events: [Event] = []
        for index in 0..<count {
            let id = !events.isEmpty && random.chance(0.08) ? events[Int.random(in: 0..<events.count, using: &random)].id : "e\(index)"
            let at =
                random.chance(0.3)
                ? tieTimes[Int.random(in: 0..<tieTimes.count, using: &random)]
                : start.adding(microseconds: Int64.random(in: -3_600_000_000...(47 * 3_600_000_000), using: &random))
            let store = ["S1", "S2"][Int.random(in: 0...1, using: &random)]
            let product = ["P1", "P2", "P3"][Int.random(in: 0...2, using: &random)]
            let category = [nil, "dairy", "snacks"][Int.random(in: 0...2, using: &random)]
            let line = SaleLine(
                quantity: Int64.random(in: 1...5, using: &random), unitPriceCents: Int64.random(in: 0...900, using: &random), category: category)
            let payload: EventPayload
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<40: payload = .sale(line)
            case 40..<52: payload = .return(line)
            case 52..<64: payload = .stock(.receipt, quantity: Int64.random(in: 1...20, using: &random))
            case 64..<72: payload = .stock(.adjustment, quantity: [-3, -1, 2][Int.random(in: 0...2, using: &random)])
            case 72..<88: payload = .stock(.count, quantity: Int64.random(in: 0...30, using: &random))
            default: payload = .price(cents: Int64.random(in: 100...999, using: &random))
            }
            events.append(Event(id: id, occurredAt: at, storeID: store, productID: product, payload: payload))
        }
        return events
    }

    static func split(_ events: [Event], _ random: inout SplitMix64) -> [[Event]] {
        let pieces = Int.random(in: 1...5, using: &random)
        var cuts = (0..<(pieces - 1)).map { _ in Int.random(in: 0...events.count, using: &random) }.sorted()
        cuts.append(events.count)
        var chunks: [[Event]] = []
        var from = 0
        for cut in cuts {
            chunks.append(Array(events[from..<max(from, cut)]))
            from = max(from, cut)
        }
        return chunks
    }
}
