import Logging
import PostgresNIO
import TidemarkEvents

/// An event with its raw-log position.
public struct LoggedEvent: Sendable {
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
        seq, id, type, tidemark_micros(occurred_at), store_id, product_id, quantity, unit_price_cents, price_cents,
            stock_kind, category, customer_id, order_id, channel, currency
        """

    /// Events with `seq` in `(after, upTo]` (no upper bound when nil), oldest first, at most `limit`.
    public func events(after: Int64, upTo: Int64? = nil, limit: Int) async throws -> [LoggedEvent] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.columns)
            FROM events WHERE seq > \(after) AND seq <= \(upTo ?? Int64.max) ORDER BY seq LIMIT \(limit)
            """, logger: logger)
        var events: [LoggedEvent] = []
        events.reserveCapacity(limit)
        for try await row in rows {
            events.append(try Self.decode(row))
        }
        return events
    }

    /// One row of `columns`, decoded in a single pass over its cells (no random-access index per row).
    public static func decode(_ row: PostgresRow) throws -> LoggedEvent {
        let (
            seq, id, type, occurredAt, storeID, productID, quantity, unitPrice, priceCents, stockKind, category, customerID, orderID, channel,
            currency
        ) =
            try row.decode(
                (Int64, String, String, Int64, String, String, Int64?, Int64?, Int64?, String?, String?, String?, String?, String?, String?).self)
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
