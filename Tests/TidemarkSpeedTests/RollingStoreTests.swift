import Testing
import TidemarkEvents
import TidemarkGenerator
import TidemarkPipelines
import TidemarkRawLog
import TidemarkSpeed
import TidemarkTestSupport

/// The rolling store against `Oracle`: random events over three days of event time arrive
/// out of order while the clock moves six hours (so minutes are evicted), some loaded as the
/// tailer does on start and the rest folded; every window of random length, end, keys and
/// filters within the retained 48 hours, and the window before it, equal a recomputation
/// from the events whose `occurred_at` falls in them.
@Suite struct RollingStoreTests {
    static let minute: Int64 = 60_000_000
    static let hour: Int64 = 3_600_000_000
    static let start = try! Timestamp(rfc3339: "2026-11-22T12:00:30Z")
    static let emptySales: [String: Int64?] = [
        "units_sold": 0, "units_returned": 0, "net_units": 0, "gross_revenue_cents": 0, "refunds_cents": 0, "net_revenue_cents": 0,
        "sale_lines": 0, "min_unit_price_cents": nil, "max_unit_price_cents": nil,
    ]

    @Test(arguments: 0..<24) func windowsEqualTheOracleWhileTimeMoves(caseNumber: Int) throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        try RollingCase(seed: seed, catalog: try ShippedPipelines.catalog()).run()
    }

    @Test func aWindowEndsWithTheMinuteOfItsEndTime() throws {
        let view = try #require(try ShippedPipelines.catalog().view(named: "sales_by_store_day"))
        var aggregate = RollingAggregate(definition: view, horizon: Self.start.microsecondsSinceEpoch - 48 * Self.hour)
        let tenFifteen = try Timestamp(rfc3339: "2026-11-22T10:15:20Z")
        let times: [(String, Int64)] = [
            ("2026-11-22T10:15:59.999999Z", 1), ("2026-11-22T10:16:00Z", 10), ("2026-11-22T10:01:00Z", 100),
            ("2026-11-22T10:00:59.999999Z", 1_000), ("2026-11-22T09:46:00Z", 10_000), ("2026-11-22T09:45:59Z", 100_000),
        ]
        for (index, (time, quantity)) in times.enumerated() {
            aggregate.fold(Sample.sale("e\(index)", store: "S1", quantity: quantity, at: try Timestamp(rfc3339: time)))
        }
        let window = RollingWindow(endingWithMinuteOf: tenFifteen.microsecondsSinceEpoch, minutes: 15)
        #expect(Timestamp(microsecondsSinceEpoch: window.start).rfc3339 == "2026-11-22T10:01:00Z")
        #expect(Timestamp(microsecondsSinceEpoch: window.end).rfc3339 == "2026-11-22T10:16:00Z")
        let rows = aggregate.compare(window, groupBy: [.storeID])
        let units = try #require(view.measures.firstIndex { $0.name == "units_sold" })
        #expect(rows.count == 1)
        #expect(rows.first?.current[units] == 101, "10:01:00 and 10:15:59.999999 are in; 10:16:00 is not")
        #expect(rows.first?.previous[units] == 11_000, "[09:46, 10:01)")
        #expect(rows.first?.change[units] == 101 - 11_000)
    }

    @Test func aLongPauseEvictsEverything() throws {
        let clock = Locked(Self.start)
        let store = RollingStore(catalog: try ShippedPipelines.catalog(), now: { clock.value })
        store.fold([LoggedEvent(seq: 1, event: Sample.sale("a", at: Self.start))])
        #expect(store.sizes["sales_by_product_hour"]?.rows == 1)
        clock.withLock { $0 = $0.adding(seconds: 48 * 3_600) }
        store.fold([])
        #expect(store.sizes["sales_by_product_hour"]?.rows == 1, "the event's minute is still 48 hours back")
        clock.withLock { $0 = $0.adding(seconds: 60) }
        store.fold([])
        #expect(store.sizes.values.allSatisfy { $0.buckets == 0 && $0.rows == 0 }, "\(store.sizes)")
        #expect(
            Set(store.sizes.keys) == ["sales_by_product_hour", "sales_by_category_day", "sales_by_store_day", "sales_by_store_category_hour"],
            "views without a grain have no windows"
        )
    }
}

/// One random case; the seed in every message replays it.
struct RollingCase {
    let seed: UInt64
    let catalog: PipelineCatalog
    static let minute = RollingStoreTests.minute
    static let hour = RollingStoreTests.hour

    func run() throws {
        var random = SplitMix64(seed: seed)
        let clock = Locked(RollingStoreTests.start)
        let store = RollingStore(catalog: catalog, now: { clock.value })
        let pages = Int.random(in: 3...12, using: &random)
        let loadedPages = random.chance(0.5) ? Int.random(in: 1...pages, using: &random) : 0
        var arrived: [LoggedEvent] = []
        var rowsChecked = 0
        for page in 0..<pages {
            let now = clock.value.microsecondsSinceEpoch
            var events: [LoggedEvent] = []
            for _ in 0..<Int.random(in: 0...120, using: &random) {
                events.append(LoggedEvent(seq: Int64(arrived.count + events.count + 1), event: randomEvent(now: now, &random)))
            }
            arrived += events
            if page == loadedPages - 1 {
                // As the tailer does on start: every event so far into fresh aggregates, installed at once.
                var views = store.emptyViews(horizon: store.horizon)
                for name in Array(views.keys) {
                    for logged in arrived { views[name]?.fold(logged.event) }
                }
                store.load(views, through: arrived.last?.seq ?? 0)
            } else if page >= loadedPages {
                store.fold(events)
            }
            if page >= loadedPages - 1 { rowsChecked += try checkWindows(store, arrived.map(\.event), now: now, &random) }
            clock.withLock { $0 = $0.adding(seconds: Int64.random(in: 0...3_000, using: &random)) }
        }
        #expect(rowsChecked > 0, "seed \(seed): no window had a row")
    }

    /// Recent events mostly, some from up to 50 hours back (late), a few up to 5 minutes ahead;
    /// sometimes right on a minute boundary or just before one.
    func randomEvent(now: Int64, _ random: inout SplitMix64) -> Event {
        let lag: Int64 =
            random.chance(0.6)
            ? Int64.random(in: -5 * Self.minute...(3 * Self.hour), using: &random) : Int64.random(in: 0...(50 * Self.hour), using: &random)
        var at = now - lag
        switch Int.random(in: 0..<4, using: &random) {
        case 0: at = Grain.minute.bucketStart(at)
        case 1: at = Grain.minute.bucketStart(at) + Self.minute - 1
        default: break
        }
        let line = SaleLine(
            quantity: Int64.random(in: 1...5, using: &random), unitPriceCents: Int64.random(in: 0...900, using: &random),
            category: random.chance(0.2) ? nil : ["dairy", "toys", "bakery"].randomElement(using: &random))
        let payload: EventPayload =
            switch Int.random(in: 0..<10, using: &random) {
            case 0: .stock(.receipt, quantity: 3)
            case 1: .price(cents: 100)
            case 2, 3: .return(line)
            default: .sale(line)
            }
        return Event(
            id: random.uuidString(), occurredAt: Timestamp(microsecondsSinceEpoch: at), storeID: ["S1", "S2", "S3"].randomElement(using: &random)!,
            productID: ["P1", "P2", "P3", "P4"].randomElement(using: &random)!, payload: payload)
    }

    /// Checks a few random windows; returns how many rows they had.
    func checkWindows(_ store: RollingStore, _ events: [Event], now: Int64, _ random: inout SplitMix64) throws -> Int {
        var rowsChecked = 0
        let horizon = store.horizon
        // Eviction: nothing older than 48 hours is held once the store has folded at this time.
        for (name, held) in store.sizes {
            let oldest = store.read(view: name) { aggregate, _, _ in aggregate.minutes.buckets.keys.min() }
            #expect((oldest ?? nil).map { $0 >= horizon } ?? true, "seed \(seed): \(name) holds a minute older than 48 hours")
            #expect(held.buckets <= 2 * 1_440 + 6, "seed \(seed): \(name) holds \(held.buckets) minutes")
        }
        for _ in 0..<4 {
            let view = try #require(catalog.views.filter(RollingAggregate.canRoll).randomElement(using: &random))
            let minutes =
                switch Int.random(in: 0..<4, using: &random) {
                case 0: [1, 1_440, 60].randomElement(using: &random)!
                case 1: Int.random(in: 1...1_440, using: &random)
                default: Int.random(in: 1...180, using: &random)
                }
            // The window's minute: from the first whose previous window is still held, to a few minutes ahead.
            let first = horizon + 2 * Int64(minutes) * Self.minute - Self.minute
            let last = Grain.minute.bucketStart(now) + 6 * Self.minute
            let atMinute = random.chance(0.2) ? first : first + Int64.random(in: 0...((last - first) / Self.minute), using: &random) * Self.minute
            let window = RollingWindow(endingWithMinuteOf: atMinute + Int64.random(in: 0..<Self.minute, using: &random), minutes: minutes)
            let groupBy = view.keys.filter { _ in random.chance(0.7) }.shuffled(using: &random)
            var filters: [KeyField: Set<String>] = [:]
            if random.chance(0.3), let key = view.keys.first {
                filters[key] = Set(events.prefix(3).map { Self.value(of: key, $0) })
            }
            let rows = try #require(store.read(view: view.name) { aggregate, _, _ in aggregate.compare(window, groupBy: groupBy, filters: filters) })

            func oracle(_ from: Int64, _ to: Int64) -> Oracle.Rows {
                let inside = events.filter { event in
                    (from..<to).contains(event.occurredAt.microsecondsSinceEpoch)
                        && filters.allSatisfy { key, values in values.contains(Self.value(of: key, event)) }
                }
                return Oracle.sales(inside) { event in groupBy.map { Self.value(of: $0, event) }.joined(separator: "|") }
            }
            let current = oracle(window.start, window.end)
            let previous = oracle(window.previousStart, window.start)
            let context = "seed \(seed): \(view.name) window \(minutes)m to \(Timestamp(microsecondsSinceEpoch: window.end).rfc3339) by \(groupBy)"
            #expect(Set(rows.map { $0.keys.joined(separator: "|") }) == Set(current.keys).union(previous.keys), "\(context)")
            #expect(rows.count == Set(rows.map(\.keys)).count, "\(context): a key twice")
            rowsChecked += rows.count
            for row in rows {
                let key = row.keys.joined(separator: "|")
                let expectedCurrent = current[key] ?? RollingStoreTests.emptySales
                let expectedPrevious = previous[key] ?? RollingStoreTests.emptySales
                for (index, measure) in view.measures.enumerated() {
                    let (inWindow, before) = (expectedCurrent[measure.name] ?? nil, expectedPrevious[measure.name] ?? nil)
                    #expect(row.current[index] == inWindow, "\(context) \(key) \(measure.name)")
                    #expect(row.previous[index] == before, "\(context) \(key) \(measure.name) previous")
                    #expect(row.change[index] == inWindow.flatMap { n in before.map { n - $0 } }, "\(context) \(key) \(measure.name) change")
                }
            }
        }
        return rowsChecked
    }

    /// The key's value straight from DESIGN.md (a missing category is "unknown").
    static func value(of key: KeyField, _ event: Event) -> String {
        switch key.rawValue {
        case "store_id": event.storeID
        case "product_id": event.productID
        case "category": event.saleLine?.category ?? "unknown"
        default: "?"
        }
    }
}
