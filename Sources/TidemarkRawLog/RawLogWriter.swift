import Logging
import NIOCore
import PostgresNIO
import Synchronization
import TidemarkEvents

/// Appends events to the raw log, each `id` at most once, in one transaction per call.
public struct RawLogWriter: Sendable {
    let client: PostgresClient
    /// Batches of at most this many distinct ids go through `tidemark_append_logged` (one
    /// round trip, commit included); larger ones through `COPY`, which costs a few round trips but less per row.
    public var singleStatementLimit: Int
    /// Asked by `answersAtItsAddress`; nil: the address is taken to answer.
    public var reachability: DatabaseReachability?
    /// Shared by the copies of this writer: whether recent large batches held stored ids.
    let duplicateHint = DuplicateHint()

    public init(client: PostgresClient, singleStatementLimit: Int = 256, reachability: DatabaseReachability? = nil) {
        self.client = client
        self.singleStatementLimit = singleStatementLimit
        self.reachability = reachability
    }

    /// Whether anything accepts connections at the database's address: a write that waits long
    /// asks, to tell an outage (the pool would keep its lease request waiting while it retries to
    /// connect) from a slow database.
    public func answersAtItsAddress() async -> Bool {
        await reachability?.answers() ?? true
    }

    /// Stores the events that are new and tells, per position, whether each was new, and which
    /// `seq` each stored event got.
    ///
    /// Repeats inside `events` count once, for their first position. Both paths insert only
    /// while holding the raw-log append lock and keep it until commit, so no other writer can
    /// store an id between the check (or the unique index's refusal) and the insert, and `seq`
    /// values follow commit order.
    public func append(_ events: [Event], logger: Logger) async throws -> AppendOutcome {
        try await append(events, logger: logger) { [client] body in try await client.withConnection(body) }
    }

    /// `append` on a connection the caller holds (see `withSession`).
    public func append(_ events: [Event], on connection: PostgresConnection, logger: Logger) async throws -> AppendOutcome {
        try await append(events, logger: logger) { body in try await body(connection) }
    }

    /// Runs `body` with one connection leased for all the appends it makes through the
    /// session. The group commit's writer keeps one across the batches it writes in a row: a
    /// lease per batch cost a hand-off between threads (about 80 µs of a 1.3 ms commit under
    /// 1-event requests, and 7% of the rate; BENCHMARKS.md).
    public func withSession<Result: Sendable>(_ body: @escaping @Sendable (Session) async throws -> Result) async throws -> Result {
        try await client.withConnection { [self] connection in try await body(Session(writer: self, connection: connection)) }
    }

    /// Appends on one leased connection; valid only inside `withSession`'s body.
    public struct Session: Sendable {
        let writer: RawLogWriter
        let connection: PostgresConnection

        /// The connection's event loop, where its answers arrive.
        public var eventLoopExecutor: EventLoopTaskExecutor { EventLoopTaskExecutor(connection.eventLoop) }

        public func append(_ events: [Event], logger: Logger) async throws -> AppendOutcome {
            try await writer.append(events, on: connection, logger: logger)
        }
    }

    private func append(
        _ events: [Event], logger: Logger,
        on connection: @Sendable (@escaping @Sendable (PostgresConnection) async throws -> StoredRows) async throws -> StoredRows
    ) async throws -> AppendOutcome {
        var isNew = [Bool](repeating: false, count: events.count)
        var firstPosition: [EventIDKey: Int] = [:]
        firstPosition.reserveCapacity(events.count)
        var distinct: [Int] = []
        distinct.reserveCapacity(events.count)
        for (position, event) in events.enumerated() where firstPosition[EventIDKey(id: event.id)] == nil {
            firstPosition[EventIDKey(id: event.id)] = position
            distinct.append(position)
        }
        guard !distinct.isEmpty else { return AppendOutcome(isNew: isNew, stored: nil) }
        let stored = try await connection { [self, distinct, firstPosition] connection in
            try await append(events, distinct: distinct, firstPosition: firstPosition, on: connection, logger: logger)
        }
        for position in stored.positions { isNew[position] = true }
        guard !stored.positions.isEmpty, stored.seqs.count == stored.positions.count else {
            // Stored, but not handed off (the reason was logged or is the isolation level): the
            // speed layer reads these events back from the log.
            return AppendOutcome(isNew: isNew, stored: nil)
        }
        let logged = zip(stored.positions, stored.seqs).map { LoggedEvent(seq: $1, event: events[$0]) }
        return AppendOutcome(isNew: isNew, stored: LoggedBatch(previous: stored.previous, events: logged))
    }

    /// The positions of the rows one append stored, in `seq` order, with their `seq`s.
    private struct StoredRows: Sendable {
        var previous: Int64 = 0
        var positions: [Int] = []
        var seqs: [Int64] = []
    }

    /// Stores the `distinct` positions of `events` that are new and returns them.
    private func append(
        _ events: [Event], distinct: [Int], firstPosition: [EventIDKey: Int], on connection: PostgresConnection, logger: Logger
    ) async throws -> StoredRows {
        if distinct.count <= singleStatementLimit {
            let columns = AppendColumns(events, positions: distinct)
            // Not in a transaction block: the procedure commits by itself (migrations 8 and 9).
            let rows = try await connection.query(
                """
                CALL tidemark_append_logged(\(columns.id), \(columns.type), \(columns.occurredAt), \(columns.storeID), \
                \(columns.productID), \(columns.quantity), \(columns.unitPriceCents), \(columns.priceCents), \
                \(columns.stockKind), \(columns.category), \(columns.customerID), \(columns.orderID), \
                \(columns.channel), \(columns.currency))
                """, logger: logger)
            var stored = StoredRows()
            for try await (previous, ids, seqs) in rows.decode((Int64?, [String], [Int64]).self) {
                for (id, seq) in zip(ids, seqs) {
                    guard let position = firstPosition[EventIDKey(id: id)] else { continue }
                    stored.positions.append(position)
                    stored.seqs.append(seq)
                }
                // Nil outside READ COMMITTED (see migration 9): the rows are stored, but not handed off.
                if let previous { stored.previous = previous } else { stored.seqs = [] }
            }
            return stored
        }

        // Encoded before the transaction starts, so the lock is held only while PostgreSQL works;
        // when some ids turn out to be stored already, the other rows are copied out by offset.
        var rows = ByteBuffer()
        rows.reserveCapacity(distinct.count * 160)
        var rowStarts: [Int] = []
        rowStarts.reserveCapacity(distinct.count + 1)
        for position in distinct {
            rowStarts.append(rows.writerIndex)
            CopyTextEncoder.writeRow(events[position], into: &rows)
        }
        rowStarts.append(rows.writerIndex)
        // Checked before taking the lock only while repeats are expected: the lookup costs as
        // much index work as the insert (a third of PostgreSQL's time on 1,000-event batches),
        // and a batch of new ids does not need it, since the unique index refuses a repeat
        // anyway. Checked, it overlaps the other writer's commit.
        let checkFirst = duplicateHint.expectsRepeats
        let storedBefore =
            checkFirst
            ? try await existingIDs(of: distinct, in: events, query: "tidemark_find_existing", connection: connection, logger: logger) : []
        if checkFirst { duplicateHint.checked(foundRepeats: !storedBefore.isEmpty) }
        let copied: CopiedRows
        do {
            copied = try await connection.withTransaction(logger: logger) { connection -> CopiedRows in
                // The lock, and then (a materialized CTE is evaluated first) the sequence's position.
                let sequence = try await connection.query(
                    """
                    WITH locked AS MATERIALIZED (
                        SELECT pg_advisory_xact_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.rawLogAppend.rawValue))
                    )
                    SELECT \(unescaped: Self.sequencePosition) FROM locked
                    """, logger: logger)
                return try await copyNew(
                    excluding: storedBefore, distinct: distinct, events: events, rows: rows, rowStarts: rowStarts,
                    sequenceBefore: try await Self.firstNumber(of: sequence), on: connection, logger: logger)
            }
        } catch let error where Self.isUniqueViolation(error) {
            // A repeat (or an id another writer stored since the check): written again with
            // the lookup under the lock, and the next batches are looked up first.
            duplicateHint.repeatSeen()
            copied = try await connection.withTransaction(logger: logger) { connection -> CopiedRows in
                let existing = try await existingIDs(
                    of: distinct, in: events, query: "tidemark_lock_and_find_existing", connection: connection, logger: logger)
                let sequence = try await connection.query("SELECT \(unescaped: Self.sequencePosition)", logger: logger)
                return try await copyNew(
                    excluding: existing, distinct: distinct, events: events, rows: rows, rowStarts: rowStarts,
                    sequenceBefore: try await Self.firstNumber(of: sequence), on: connection, logger: logger)
            }
        }
        return await seqs(of: copied, on: connection, logger: logger)
    }

    private static func firstNumber(of rows: PostgresRowSequence) async throws -> Int64 {
        var number: Int64 = 0
        for try await value in rows.decode(Int64.self) { number = value }
        return number
    }

    /// The last value the `seq` sequence handed out (0 before the first).
    private static let sequencePosition = "coalesce(pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')::regclass), 0)"

    /// The positions a COPY stored, in row order, and the sequence's position when it began.
    private struct CopiedRows: Sendable {
        var positions: [Int] = []
        var sequenceBefore: Int64 = 0
    }

    /// The `seq`s of committed COPY rows. Every append takes `seq`s only while holding the lock,
    /// so the COPY's rows got the values right after the sequence's position when it took the
    /// lock, one per row in row order, unless something else took one meanwhile: then the
    /// `seq`s are unknown and the rows are not handed off (the speed layer reads them back).
    /// Asked after the commit, on the same session (`currval`), so the lock is not held for
    /// it; a failure here only costs the hand-off, the rows are committed.
    private func seqs(of copied: CopiedRows, on connection: PostgresConnection, logger: Logger) async -> StoredRows {
        var stored = StoredRows(positions: copied.positions)
        guard !copied.positions.isEmpty else { return stored }
        let count = Int64(copied.positions.count)
        do {
            let rows = try await connection.query(
                """
                SELECT currval(pg_get_serial_sequence('events', 'seq')),
                    (SELECT coalesce(max(seq), 0) FROM events WHERE seq <= \(copied.sequenceBefore))
                """, logger: logger)
            for try await (last, previous) in rows.decode((Int64, Int64).self) {
                guard last - copied.sequenceBefore == count else {
                    logger.warning(
                        "the raw log's seq sequence was used outside the append lock; the speed layer reads this batch back",
                        metadata: ["sequence_before": "\(copied.sequenceBefore)", "last": "\(last)", "rows": "\(count)"])
                    break
                }
                stored.previous = previous
                stored.seqs = Array((copied.sequenceBefore + 1)...last)
            }
        } catch {
            logger.warning("could not read the seqs of a committed batch; the speed layer reads it back", metadata: ["error": "\(error)"])
        }
        return stored
    }

    /// The ids among `ids` that the raw log holds, by one of the lookup functions of the schema.
    private func existingIDs(
        of positions: [Int], in events: [Event], query function: StaticString, connection: PostgresConnection, logger: Logger
    ) async throws -> Set<EventIDKey> {
        let ids = positions.map { events[$0].id }
        let rows = try await connection.query("SELECT \(unescaped: function.description)(\(ids))", logger: logger)
        var existing: Set<EventIDKey> = []
        for try await id in rows.decode(String.self) { existing.insert(EventIDKey(id: id)) }
        return existing
    }

    /// COPYs the rows of `distinct` whose ids are not in `existing` and returns their positions,
    /// inside the caller's transaction, which holds the append lock.
    private func copyNew(
        excluding existing: Set<EventIDKey>, distinct: [Int], events: [Event], rows: ByteBuffer, rowStarts: [Int],
        sequenceBefore: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> CopiedRows {
        let toStore = distinct.indices.filter { !existing.contains(EventIDKey(id: events[distinct[$0]].id)) }
        guard !toStore.isEmpty else { return CopiedRows() }
        var rows = rows
        if toStore.count < distinct.count {
            var kept = ByteBuffer()
            kept.reserveCapacity(rows.readableBytes)
            for row in toStore {
                var slice = rows.getSlice(at: rowStarts[row], length: rowStarts[row + 1] - rowStarts[row])!
                kept.writeBuffer(&slice)
            }
            rows = kept
        }
        try await connection.copyFrom(table: "events", columns: CopyTextEncoder.columns, logger: logger) { writer in
            try await writer.write(rows)
        }
        return CopiedRows(positions: toStore.map { distinct[$0] }, sequenceBefore: sequenceBefore)
    }

    private static func isUniqueViolation(_ error: any Error) -> Bool {
        let inner = (error as? PostgresTransactionError).flatMap { $0.closureError ?? $0.commitError } ?? error
        return (inner as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }

    /// Succeeds when PostgreSQL answers a trivial query.
    public func ping(logger: Logger) async throws {
        try await client.query("SELECT 1", logger: logger)
    }
}

/// Whether large batches should look up their stored ids before the COPY: for the next
/// `lookupsAfterRepeat` batches after one held a stored id, so that retried batches mixed with
/// new ones do not make every other COPY fail (each failed COPY holds the append lock, burns
/// `seq` values and leaves dead rows). A new writer looks up its first batch, so a restarted
/// server facing clients that retry what it had stored does not begin with failing COPYs.
final class DuplicateHint: Sendable {
    static let lookupsAfterRepeat = 16
    private let lookupsLeft = Atomic(1)

    var expectsRepeats: Bool { lookupsLeft.load(ordering: .relaxed) > 0 }

    func repeatSeen() {
        lookupsLeft.store(Self.lookupsAfterRepeat, ordering: .relaxed)
    }

    /// A batch was looked up: one lookup fewer, or a full count again when it found repeats.
    func checked(foundRepeats: Bool) {
        if foundRepeats {
            repeatSeen()
        } else {
            var current = lookupsLeft.load(ordering: .relaxed)
            while current > 0 {
                let (exchanged, original) = lookupsLeft.compareExchange(expected: current, desired: current - 1, ordering: .relaxed)
                if exchanged { return }
                current = original
            }
        }
    }
}

/// The arguments of `tidemark_append_logged`: one array per column, absent values as sentinels.
private struct AppendColumns {
    var id: [String] = []
    var type: [String] = []
    var occurredAt: [String] = []
    var storeID: [String] = []
    var productID: [String] = []
    var quantity: [Int64] = []
    var unitPriceCents: [Int64] = []
    var priceCents: [Int64] = []
    var stockKind: [String] = []
    var category: [String] = []
    var customerID: [String] = []
    var orderID: [String] = []
    var channel: [String] = []
    var currency: [String] = []

    /// `tidemark_append_logged` reads these as NULL; validation never lets them through as values.
    static let absentText = ""
    static let absentNumber = Int64.min

    init(_ events: [Event], positions: [Int]) {
        for position in positions {
            let event = events[position]
            id.append(event.id)
            type.append(event.type.rawValue)
            occurredAt.append(event.occurredAt.rfc3339)
            storeID.append(event.storeID)
            productID.append(event.productID)
            switch event.payload {
            case .sale(let line), .return(let line):
                append(quantity: line.quantity, unitPrice: line.unitPriceCents, price: nil, kind: nil)
                category.append(line.category ?? Self.absentText)
                customerID.append(line.customerID ?? Self.absentText)
                orderID.append(line.orderID ?? Self.absentText)
                channel.append(line.channel ?? Self.absentText)
                currency.append(line.currency ?? Self.absentText)
            case .stock(let kind, let amount):
                append(quantity: amount, unitPrice: nil, price: nil, kind: kind.rawValue)
                appendNoSaleAttributes()
            case .price(let cents):
                append(quantity: nil, unitPrice: nil, price: cents, kind: nil)
                appendNoSaleAttributes()
            }
        }
    }

    private mutating func append(quantity q: Int64?, unitPrice: Int64?, price: Int64?, kind: String?) {
        quantity.append(q ?? Self.absentNumber)
        unitPriceCents.append(unitPrice ?? Self.absentNumber)
        priceCents.append(price ?? Self.absentNumber)
        stockKind.append(kind ?? Self.absentText)
    }

    private mutating func appendNoSaleAttributes() {
        for keyPath in [\Self.category, \.customerID, \.orderID, \.channel, \.currency] as [WritableKeyPath<Self, [String]>] {
            self[keyPath: keyPath].append(Self.absentText)
        }
    }
}
