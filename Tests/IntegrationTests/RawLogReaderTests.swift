import Logging
import PostgresNIO
import Testing
import TidemarkEvents
import TidemarkRawLog
import TidemarkTestSupport

/// The reads the rolling windows' start-up load makes: the first `seq` received since a time
/// (bisection over the primary key) and a `seq` range narrowed by `occurred_at`.
@Suite struct RawLogReaderTests {
    @Test func bisectionFindsTheFirstEventReceivedSinceATime() async throws {
        try await TestDatabase.withFreshDatabase { _, client in
            let logger = TestServer.quietLogger
            let base: Int64 = 1_795_000_000_000_000
            // Two runs of events received a second apart, with a gap of unused seq values between.
            for (from, to) in [(1, 300), (301, 600)] {
                try await client.query(
                    """
                    INSERT INTO events (id, type, occurred_at, received_at, store_id, product_id, quantity, unit_price_cents)
                    SELECT 'r' || g, 'sale', tidemark_ts(\(base) + (g % 50) * 60000000), tidemark_ts(\(base) + g * 1000000), 'S1', 'P1', 1, 100
                    FROM generate_series(\(from), \(to)) g ORDER BY g
                    """, logger: logger)
                try await client.query("SELECT nextval(pg_get_serial_sequence('events', 'seq')) FROM generate_series(1, 50)", logger: logger)
            }
            let reader = RawLogReader(client: client, logger: logger)
            let last = Int64(try await client.scalar("SELECT max(seq) FROM events"))
            for (second, upTo) in [
                (0, last), (1, last), (2, last), (299, last), (300, last), (301, last), (450, last), (600, last), (601, last), (450, 200), (100, 200),
            ] {
                let time = base + Int64(second) * 1_000_000
                let first = try await reader.firstSeq(receivedAtOrAfter: time, upTo: upTo)
                #expect(first >= 1 && first <= upTo + 1)
                let laterBefore = try await client.scalar(
                    "SELECT count(*)::bigint FROM events WHERE seq >= \(first) AND seq <= \(upTo) AND received_at < tidemark_ts(\(time))")
                let earlierSince = try await client.scalar(
                    "SELECT count(*)::bigint FROM events WHERE seq < \(first) AND received_at >= tidemark_ts(\(time))")
                #expect(laterBefore == 0 && earlierSince == 0, "received since second \(second), up to seq \(upTo): from seq \(first)")
            }

            let since = base + 40 * 60_000_000
            var read: [String] = []
            var position: Int64 = 100
            while true {
                let page = try await reader.events(after: position, upTo: 500, occurredAtOrAfter: since, limit: 7)
                read += page.map(\.event.id)
                guard let end = page.last, page.count == 7 else { break }
                position = end.seq
            }
            var expected: [String] = []
            let rows = try await client.query(
                "SELECT id FROM events WHERE seq > 100 AND seq <= 500 AND occurred_at >= tidemark_ts(\(since)) ORDER BY seq", logger: logger)
            for try await id in rows.decode(String.self) { expected.append(id) }
            #expect(read == expected && expected.count > 20)
        }
    }

    /// `occurred_at` is read as binary `timestamptz` (microseconds since 2000-01-01) and
    /// shifted to the Unix epoch by hand: it must equal what PostgreSQL itself computes, also
    /// before 2000 and at microsecond precision.
    @Test func occurredAtReadsBackToTheMicrosecond() async throws {
        try await TestDatabase.withFreshDatabase { _, client in
            let logger = TestServer.quietLogger
            let times: [Int64] = [0, 946_684_799_999_999, 946_684_800_000_000, 946_684_800_000_001, 1_795_000_000_123_456, -1_000_001]
            for (index, time) in times.enumerated() {
                try await client.query(
                    """
                    INSERT INTO events (id, type, occurred_at, store_id, product_id, quantity, unit_price_cents)
                    VALUES (\("t\(index)"), 'sale', tidemark_ts(\(time)), 'S1', 'P1', 1, 100)
                    """, logger: logger)
            }
            let read = try await RawLogReader(client: client, logger: logger).events(after: 0, limit: 100)
            #expect(read.map(\.event.occurredAt.microsecondsSinceEpoch) == times)
            var computed: [Int64] = []
            for try await value in try await client.query("SELECT tidemark_micros(occurred_at) FROM events ORDER BY seq", logger: logger).decode(
                Int64.self)
            {
                computed.append(value)
            }
            #expect(computed == times)
        }
    }
}
