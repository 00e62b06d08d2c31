import Logging
import PostgresNIO
import Testing
import TidemarkEvents
import TidemarkIngest
import TidemarkTestSupport

@testable import TidemarkRawLog

@Suite struct RawLogWriterTests {
    static let mixed: [Event] = [
        Sample.sale("w-1", quantity: 3, unitPriceCents: 199, category: "dairy"),
        Event(
            id: "w-2", occurredAt: Sample.hour.adding(microseconds: 123_456), storeID: "S\t1", productID: "P\\2",
            payload: .return(
                SaleLine(quantity: 1, unitPriceCents: 0, category: nil, customerID: "C9", orderID: "O\n1", channel: "web", currency: "USD"))),
        Event(id: "w-3", occurredAt: Sample.hour, storeID: "S1", productID: "P1", payload: .stock(.adjustment, quantity: -4)),
        Event(id: "w-4", occurredAt: Sample.hour, storeID: "S1", productID: "P1", payload: .stock(.count, quantity: 0)),
        Event(id: "w-5", occurredAt: Sample.hour, storeID: "HQ", productID: "P1", payload: .price(cents: 1_099)),
        Sample.sale("w-1"),  // repeated inside the batch: the first one wins
    ]

    /// The writer tells whether its database answers at its address; the group commit asks
    /// while a write waits, and refuses it within seconds when nothing listens there (the
    /// pool alone would keep the lease request waiting while it retries to connect).
    @Test func anUnreachableDatabaseFailsTheWriteInSeconds() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            let writer = RawLogWriter(client: client, reachability: DatabaseReachability(url))
            let stored = try await writer.append([Sample.sale("r-1")], logger: TestServer.quietLogger)
            #expect(stored.isNew == [true])
            #expect(await writer.answersAtItsAddress())
        }
        let nowhere = try {
            var url = try TestDatabase.serverURL()
            url.port = 1  // nothing listens on a privileged port here
            return url
        }()
        let started = ContinuousClock.now
        try await TestDatabase.withClient(nowhere) { client in
            let writer = RawLogWriter(client: client, reachability: DatabaseReachability(nowhere))
            #expect(await !writer.answersAtItsAddress())
            let committer = GroupCommitter(store: writer, configuration: GroupCommitConfiguration(), logger: TestServer.quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await committer.run() }
                await #expect(throws: IngestRefusal.databaseUnavailable) { try await committer.submit([Sample.sale("r-2")]) }
                group.cancelAll()
            }
        }
        #expect(ContinuousClock.now - started < .seconds(8))
    }

    /// Both write paths (one statement, and lock-check-COPY) must store the same rows, with
    /// absent values as NULL and special characters intact, and agree on what was new. What
    /// they report as stored (handed to the speed layer instead of reading it back) must be
    /// exactly what the log then reads, `seq`s included, continuing from `previous`.
    @Test(arguments: [0, 1_000])
    func bothPathsStoreTheSameRows(singleStatementLimit: Int) async throws {
        try await TestDatabase.withFreshDatabase { _, client in
            let writer = RawLogWriter(client: client, singleStatementLimit: singleStatementLimit)
            let reader = RawLogReader(client: client, logger: TestServer.quietLogger)
            let logger = TestServer.quietLogger
            let first = try await writer.append(Self.mixed, logger: logger)
            #expect(first.isNew == [true, true, true, true, true, false])
            // A batch of stored ids only: nothing new, nothing to hand over.
            #expect(try await writer.append(Array(Self.mixed.prefix(2)), logger: logger).stored == nil)
            let second = try await writer.append([Sample.sale("w-6"), Sample.sale("w-3")], logger: logger)
            #expect(second.isNew == [true, false])

            let log = try await reader.events(after: 0, limit: 100)
            #expect(first.stored?.previous == 0)
            #expect(first.stored?.events == Array(log.prefix(5)))
            #expect(second.stored?.previous == log[4].seq)
            #expect(second.stored?.events == Array(log.suffix(1)))
            #expect(log.map(\.event) == Array(Self.mixed.prefix(5)) + [Sample.sale("w-6")])

            let rows = try await client.query(
                """
                SELECT id || '|' || type || '|' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|' || store_id || '|' || product_id
                    || '|' || coalesce(quantity::text, '-') || '|' || coalesce(unit_price_cents::text, '-') || '|' || coalesce(price_cents::text, '-')
                    || '|' || coalesce(stock_kind, '-') || '|' || coalesce(category, '-') || '|' || coalesce(customer_id, '-')
                    || '|' || coalesce(order_id, '-') || '|' || coalesce(channel, '-') || '|' || coalesce(currency, '-')
                FROM events ORDER BY seq
                """, logger: logger)
            var lines: [String] = []
            for try await line in rows.decode(String.self) { lines.append(line) }
            #expect(
                lines == [
                    "w-1|sale|2026-11-20T10:00:00.000000|S01|P1|3|199|-|-|dairy|-|-|-|-",
                    "w-2|return|2026-11-20T10:00:00.123456|S\t1|P\\2|1|0|-|-|-|C9|O\n1|web|USD",
                    "w-3|stock|2026-11-20T10:00:00.000000|S1|P1|-4|-|-|adjustment|-|-|-|-|-",
                    "w-4|stock|2026-11-20T10:00:00.000000|S1|P1|0|-|-|count|-|-|-|-|-",
                    "w-5|price|2026-11-20T10:00:00.000000|HQ|P1|-|-|1099|-|-|-|-|-|-",
                    "w-6|sale|2026-11-20T10:00:00.000000|S01|P1|1|250|-|-|dairy|-|-|-|-",
                ])
        }
    }

    /// Under another default isolation level the procedure's snapshot predates the lock, so it
    /// could miss a commit it waited for: it stores the events but hands back no `previous`, so
    /// nothing is handed off and the speed layer reads them. The COPY path reads its `seq`s
    /// after the commit, in a fresh snapshot, and still hands off.
    @Test func outsideReadCommittedOnlyCopyBatchesAreHandedOff() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            try await client.query(
                "ALTER DATABASE \(unescaped: url.database) SET default_transaction_isolation = 'repeatable read'", logger: TestServer.quietLogger)
            try await TestDatabase.withClient(url) { client in
                let logger = TestServer.quietLogger
                let small = try await RawLogWriter(client: client).append([Sample.sale("rr-1")], logger: logger)
                #expect(small.isNew == [true])
                #expect(small.stored == nil)
                let large = try await RawLogWriter(client: client, singleStatementLimit: 0)
                    .append([Sample.sale("rr-2"), Sample.sale("rr-3")], logger: logger)
                let log = try await RawLogReader(client: client, logger: logger).events(after: 0, limit: 10)
                #expect(log.map(\.event.id) == ["rr-1", "rr-2", "rr-3"])
                #expect(large.stored?.previous == log.first?.seq)
                #expect(large.stored?.events == Array(log.dropFirst()))
            }
        }
    }

    /// Ids that Swift calls equal but PostgreSQL keeps apart ("é" precomposed and decomposed)
    /// are two events on both paths, in one batch as in two.
    @Test(arguments: [0, 1_000])
    func idsCompareByBytes(singleStatementLimit: Int) async throws {
        try await TestDatabase.withFreshDatabase { _, client in
            let writer = RawLogWriter(client: client, singleStatementLimit: singleStatementLimit)
            let composed = Sample.sale("caf\u{E9}")
            let decomposed = Sample.sale("cafe\u{301}")
            #expect(composed.id == decomposed.id, "Swift considers them equal")
            let both = try await writer.append([composed, decomposed], logger: TestServer.quietLogger)
            let again = try await writer.append([decomposed], logger: TestServer.quietLogger)
            let stored = try await client.scalar("SELECT count(*)::bigint FROM events")
            #expect(both.isNew == [true, true])
            #expect(again.isNew == [false])
            #expect(stored == 2)
        }
    }

    /// Large batches skip the lookup of stored ids while none were seen lately: a repeat then
    /// meets the unique index, the batch is written again with the lookup under the lock, and
    /// the next `lookupsAfterRepeat` batches are looked up first (longer while they find repeats).
    @Test func largeBatchesLookUpStoredIdsOnlyWhileRepeatsAreSeen() async throws {
        try await TestDatabase.withFreshDatabase { _, client in
            let writer = RawLogWriter(client: client, singleStatementLimit: 0)
            let logger = TestServer.quietLogger
            func batch(_ range: Range<Int>) -> [Event] { range.map { Sample.sale("hint-\($0)") } }
            func allNew(_ count: Int) -> [Bool] { Array(repeating: true, count: count) }
            #expect(writer.duplicateHint.expectsRepeats, "a new writer looks up first")
            #expect(try await writer.append(batch(0..<100), logger: logger).isNew == allNew(100))
            #expect(!writer.duplicateHint.expectsRepeats, "a clean first batch stops the lookups")
            #expect(try await writer.append(batch(100..<200), logger: logger).isNew == allNew(100))

            // Unchecked, with repeats: the COPY fails and the batch is redone under the lock.
            let mixed = try await writer.append(batch(150..<250), logger: logger).isNew
            #expect(mixed == Array(repeating: false, count: 50) + allNew(50))
            #expect(writer.duplicateHint.expectsRepeats)
            // Checked first and still repeating: the count starts again.
            #expect(try await writer.append(batch(240..<260), logger: logger).isNew == Array(repeating: false, count: 10) + allNew(10))
            for round in 1...DuplicateHint.lookupsAfterRepeat {
                #expect(writer.duplicateHint.expectsRepeats, "lookup \(round) after the last repeat")
                let start = 1_000 + round * 10
                #expect(try await writer.append(batch(start..<(start + 10)), logger: logger).isNew == allNew(10))
            }
            #expect(!writer.duplicateHint.expectsRepeats)
            let stored = 260 + 10 * DuplicateHint.lookupsAfterRepeat
            #expect(try await client.scalar("SELECT count(*)::bigint FROM events") == stored)
            #expect(try await client.scalar("SELECT count(DISTINCT id)::bigint FROM events") == stored)
        }
    }

    /// Large batches are checked before the lock; when two writers race on the same ids, the
    /// loser's COPY meets the unique index and is redone under the lock. Each id must be
    /// reported new exactly once and stored once; and what each reports as stored must chain:
    /// the second commit's `previous` is the first's last `seq`, although the failed COPY
    /// burnt `seq` values in between.
    @Test func concurrentLargeBatchesWithSharedIdsStoreEachOnce() async throws {
        try await TestDatabase.withFreshDatabase { _, client in
            let writer = RawLogWriter(client: client, singleStatementLimit: 0)
            let reader = RawLogReader(client: client, logger: TestServer.quietLogger)
            var tail: Int64 = 0
            for round in 0..<10 {
                let shared = (0..<300).map { Sample.sale("r\(round)-shared-\($0)") }
                let outcomes = try await withThrowingTaskGroup(of: AppendOutcome.self) { group in
                    for side in 0..<2 {
                        group.addTask {
                            let own = (0..<200).map { Sample.sale("r\(round)-own\(side)-\($0)") }
                            return try await writer.append(shared + own, logger: TestServer.quietLogger)
                        }
                    }
                    return try await group.reduce(into: [AppendOutcome]()) { $0.append($1) }
                }
                let results = outcomes.map(\.isNew)
                let batches = outcomes.compactMap(\.stored).sorted { $0.previous < $1.previous }
                #expect(batches.count == 2)
                #expect(batches.first?.previous == tail, "round \(round)")
                #expect(batches.last?.previous == batches.first?.events.last?.seq, "round \(round)")
                let log = try await reader.events(after: tail, limit: 10_000)
                #expect(batches.flatMap(\.events) == log, "round \(round)")
                tail = log.last?.seq ?? tail
                for index in 0..<300 {
                    #expect(results[0][index] != results[1][index], "round \(round): shared id \(index) new for both or neither")
                }
                #expect(results.allSatisfy { $0[300...].allSatisfy { $0 } })
            }
            #expect(try await client.scalar("SELECT count(*)::bigint FROM events") == 10 * (300 + 2 * 200))
        }
    }
}
