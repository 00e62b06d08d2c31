import Logging
import PostgresNIO
import TidemarkEvents

/// An event with its raw-log position.
public struct LoggedEvent: Sendable, Hashable {
    public var seq: Int64
    public var event: Event

    public init(seq: Int64, event: Event) {
        self.seq = seq
        self.event = event
    }
}

/// Reads the raw log in `seq` order. Because `seq` follows commit order (see
/// `AdvisoryLock.rawLogAppend`), reading "everything after the last seq seen" never skips an
/// event that commits later.
public struct RawLogReader: Sendable {
    public struct CorruptRow: Error, CustomStringConvertible {
        public var seq: Int64
        public var problem: String
        public var description: String { "raw log row seq \(seq): \(problem)" }
    }

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The columns `decode(_:)` reads, in its order, for queries that select events their own way.
    public static let columns = """
        seq, id, type, occurred_at, store_id, product_id, quantity, unit_price_cents, price_cents,
            stock_kind, category, customer_id, order_id, channel, currency
        """

    /// Events with `seq` in `(after, upTo]` (no upper bound when nil), oldest first, at most `limit`.
    public func events(after: Int64, upTo: Int64? = nil, limit: Int) async throws -> [LoggedEvent] {
        let rows = try await client.boundedQuery(
            """
            SELECT \(unescaped: Self.columns)
            FROM events WHERE seq > \(after) AND seq <= \(upTo ?? Int64.max) ORDER BY seq LIMIT \(limit)
            """, logger: logger)
        // Not reserved for `limit`: the tailer asks for a page of 5,000 at every poll and gap,
        // and most pages hold a few events, not a megabyte's worth.
        var events: [LoggedEvent] = []
        for try await row in rows {
            events.append(try Self.decode(row))
        }
        return events
    }

    /// Events with `seq` in `(after, upTo]` that occurred at or after `since` (microseconds),
    /// oldest first, at most `limit`. Walks the primary key: `occurred_at` has no index, which
    /// would slow every insert, so callers bound the `seq` range (see `firstSeq(receivedAtOrAfter:upTo:)`).
    public func events(after: Int64, upTo: Int64, occurredAtOrAfter since: Int64, limit: Int) async throws -> [LoggedEvent] {
        let rows = try await client.boundedQuery(
            """
            SELECT \(unescaped: Self.columns)
            FROM events WHERE seq > \(after) AND seq <= \(upTo) AND occurred_at >= tidemark_ts(\(since)) ORDER BY seq LIMIT \(limit)
            """, logger: logger)
        var events: [LoggedEvent] = []
        for try await row in rows {
            events.append(try Self.decode(row))
        }
        return events
    }

    /// The lowest `s` (at most `upTo + 1`) such that every event in `[s, upTo]` was received at
    /// or after `time` (microseconds), by bisection over the primary key: about 20 lookups for
    /// a million events. `received_at` is the inserting transaction's start and `seq` follows
    /// commit order, so `received_at` grows with `seq` except by the seconds a transaction waits
    /// for the append lock; callers leave a margin for that.
    public func firstSeq(receivedAtOrAfter time: Int64, upTo: Int64) async throws -> Int64 {
        // Bisects on "the first event at or after s was received at or after `time`, or there
        // is none", which is false at `low` (or low = 0, never asked) and true at `high`.
        var (low, high): (Int64, Int64) = (0, upTo + 1)
        while high - low > 1 {
            let middle = low + (high - low) / 2
            let rows = try await client.boundedQuery(
                """
                SELECT tidemark_micros(received_at) FROM events WHERE seq >= \(middle) AND seq <= \(upTo) ORDER BY seq LIMIT 1
                """, logger: logger)
            var received: Int64?
            for try await value in rows.decode(Int64.self) { received = value }
            if received.map({ $0 >= time }) ?? true {
                high = middle
            } else {
                low = middle
            }
        }
        return high
    }

    /// 2000-01-01T00:00:00Z, PostgreSQL's epoch, in microseconds since the Unix epoch.
    static let postgresEpochMicroseconds: Int64 = 946_684_800_000_000

    /// One row of `columns`, decoded in a single pass over its cells.
    ///
    /// By hand for the binary `bigint` and `text` cells the raw log has (anything else goes
    /// through PostgresNIO's decoder): the generic tuple decode measured at 16% of the
    /// server's CPU on 1,000-event bodies, since the speed layer reads back every event.
    public static func decode(_ row: PostgresRow) throws -> LoggedEvent {
        var cells = row.makeIterator()
        var seq: Int64 = 0
        func next() throws -> PostgresCell {
            guard let cell = cells.next() else { throw CorruptRow(seq: seq, problem: "fewer columns than expected") }
            return cell
        }
        func integer() throws -> Int64? {
            let cell = try next()
            guard let bytes = cell.bytes else { return nil }
            if cell.format == .binary, cell.dataType == .int8, let value = bytes.getInteger(at: bytes.readerIndex, as: Int64.self) {
                return value
            }
            return try cell.decode(Int64.self)
        }
        /// Binary `timestamptz` counts microseconds from 2000-01-01 UTC. Not converted in SQL:
        /// `tidemark_micros` is not inlined (EXTRACT is only STABLE), and calling it for every row
        /// read back cost 6% of the machine's CPU on 1,000-event bodies.
        func microseconds() throws -> Int64? {
            let cell = try next()
            guard let bytes = cell.bytes else { return nil }
            if cell.format == .binary, cell.dataType == .timestamptz, let value = bytes.getInteger(at: bytes.readerIndex, as: Int64.self) {
                // PostgreSQL's infinity and -infinity; validation never stores either.
                guard value != .max, value != .min else { throw CorruptRow(seq: seq, problem: "occurred_at is infinite") }
                let (unix, overflow) = value.addingReportingOverflow(Self.postgresEpochMicroseconds)
                guard !overflow else { throw CorruptRow(seq: seq, problem: "occurred_at is out of range") }
                return unix
            }
            throw CorruptRow(seq: seq, problem: "occurred_at is not a binary timestamptz (select it as `occurred_at`, see `columns`)")
        }
        func text() throws -> String? {
            let cell = try next()
            guard let bytes = cell.bytes else { return nil }
            if cell.format == .binary, cell.dataType == .text || cell.dataType == .varchar { return String(buffer: bytes) }
            return try cell.decode(String.self)
        }
        func required<Value>(_ value: Value?, _ column: String) throws -> Value {
            guard let value else { throw CorruptRow(seq: seq, problem: "\(column) is NULL") }
            return value
        }
        seq = try required(try integer(), "seq")
        let id = try required(try text(), "id")
        let type = try required(try text(), "type")
        let occurredAt = try required(try microseconds(), "occurred_at")
        let storeID = try required(try text(), "store_id")
        let productID = try required(try text(), "product_id")
        let (quantity, unitPrice, priceCents) = (try integer(), try integer(), try integer())
        let (stockKind, category, customerID, orderID, channel, currency) = (try text(), try text(), try text(), try text(), try text(), try text())
        let payload: EventPayload
        switch EventType(rawValue: type) {
        case .sale?, .return?:
            guard let quantity, let unitPrice else { throw CorruptRow(seq: seq, problem: "a \(type) without quantity or unit_price_cents") }
            let line = SaleLine(
                quantity: quantity, unitPriceCents: unitPrice, category: category, customerID: customerID, orderID: orderID,
                channel: channel, currency: currency)
            payload = type == "sale" ? .sale(line) : .return(line)
        case .stock?:
            guard let quantity, let kind = stockKind.flatMap(StockKind.init(rawValue:)) else {
                throw CorruptRow(seq: seq, problem: "a stock event without quantity or kind")
            }
            payload = .stock(kind, quantity: quantity)
        case .price?:
            guard let priceCents else { throw CorruptRow(seq: seq, problem: "a price event without price_cents") }
            payload = .price(cents: priceCents)
        case nil:
            throw CorruptRow(seq: seq, problem: "unknown type '\(type)'")
        }
        let event = Event(
            id: id, occurredAt: Timestamp(microsecondsSinceEpoch: occurredAt), storeID: storeID, productID: productID, payload: payload)
        return LoggedEvent(seq: seq, event: event)
    }
}
