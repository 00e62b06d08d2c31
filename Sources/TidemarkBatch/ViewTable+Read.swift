import PostgresNIO
import TidemarkPipelines

/// What a reader asks of one generation of a view's tables.
public struct BatchRowsQuery: Sendable {
    public var sql: String
    public var binds: PostgresBindings
}

extension ViewTable {
    /// Reads the rows a query needs, rolled up in PostgreSQL where that is exact (every
    /// measure but `on_hand`, which must first be merged key by key with the speed layer).
    /// The first column is the watermark this generation holds, read in the same statement,
    /// so rows and watermark come from one snapshot; no row at all means the generation
    /// is no longer the one published.
    public func readQuery(_ query: ViewQuery) -> BatchRowsQuery {
        var binds = PostgresBindings()
        binds.append(definition.name)
        binds.append(generation)
        var conditions: [String] = []
        if hasBucket {
            if let from = query.fromBucket {
                binds.append(from)
                conditions.append("t.bucket >= tidemark_ts($\(binds.count))")
            }
            if let to = query.toBucket {
                binds.append(to)
                conditions.append("t.bucket < tidemark_ts($\(binds.count))")
            }
        }
        for key in definition.keys {
            guard let values = query.filters[key] else { continue }
            binds.append(values.sorted())
            conditions.append("t.\(key.rawValue) = ANY($\(binds.count)::text[])")
        }
        let rollUp = !definition.hasOnHand
        let bucket: String
        switch (query.grain, rollUp) {
        case (.bucket(let grain)?, true) where grain != definition.grain:
            bucket = "tidemark_micros(date_trunc('\(grain.rawValue)', t.bucket, 'UTC'))"
        case (.all?, true), (nil, _): bucket = "0::bigint"
        default: bucket = "tidemark_micros(t.bucket)"
        }
        let keys = rollUp ? query.groupBy.map { "t.\($0.rawValue)" } : definition.keys.map { "t.\($0.rawValue)" }
        var select = [bucket + " AS bucket"] + keys
        for measure in definition.storedMeasures {
            let c = "t." + Self.column(measure)
            switch measure.kind {
            case .sum, .count: select.append(rollUp ? "sum(\(c))::bigint" : c)
            case .min: select.append(rollUp ? "min(\(c))" : c)
            case .max: select.append(rollUp ? "max(\(c))" : c)
            case .latest:
                if rollUp {
                    let order = "ORDER BY \(c)__at DESC NULLS LAST, \(c)__id DESC NULLS LAST"
                    select += ["(array_agg(\(c) \(order)))[1]", "max(\(c)__at)", "(array_agg(\(c)__id \(order)))[1]"]
                } else {
                    select += [c, c + "__at", c + "__id"]
                }
            case .onHand:
                select += [c, "tidemark_micros(\(c)__count_at)", c + "__count_id", c + "__count_qty"]
            case .derived: break
            }
        }
        let groupBy = rollUp ? "\nGROUP BY " + (1...(1 + keys.count)).map(String.init).joined(separator: ", ") : ""
        let sql = """
            SELECT s.watermark, r.* FROM (SELECT watermark FROM tidemark_batch_views WHERE view = $1 AND generation = $2) s
            LEFT JOIN LATERAL (
                SELECT \(select.joined(separator: ", "))
                FROM \(name) t\(conditions.isEmpty ? "" : "\nWHERE " + conditions.joined(separator: " AND "))\(groupBy)
            ) r ON true
            """
        return BatchRowsQuery(sql: sql, binds: binds)
    }

    /// The batch's total of movements after given times, per store and product, for keys
    /// where the speed layer holds a count newer than the batch's.
    public func movementsAfterQuery(_ keys: [(storeID: String, productID: String, after: Int64)]) -> BatchRowsQuery {
        var binds = PostgresBindings()
        binds.append(definition.name)
        binds.append(generation)
        binds.append(keys.map(\.storeID))
        binds.append(keys.map(\.productID))
        binds.append(keys.map(\.after))
        let sql = """
            SELECT s.watermark, q.i, (SELECT coalesce(sum(m.delta), 0)::bigint FROM \(movesName) m
                WHERE m.store_id = q.store_id AND m.product_id = q.product_id AND m.occurred_at > tidemark_ts(q.after))
            FROM (SELECT watermark FROM tidemark_batch_views WHERE view = $1 AND generation = $2) s,
                unnest($3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY AS q(store_id, product_id, after, i)
            """
        return BatchRowsQuery(sql: sql, binds: binds)
    }

    /// Decodes one row of `readQuery`'s answer (after the watermark column) into a row key
    /// and measure states; nil for the empty row of an empty answer.
    public func decodeRow(_ row: PostgresRow, query: ViewQuery) throws -> (key: RowKey, states: [MeasureState])? {
        let cells = row.makeRandomAccess()
        guard let bucket = try cells[1].decode(Int64?.self) else { return nil }
        let keyCount = definition.hasOnHand ? definition.keys.count : query.groupBy.count
        var keys: [String] = []
        keys.reserveCapacity(keyCount)
        for index in 0..<keyCount { keys.append(try cells[2 + index].decode(String.self)) }
        var index = 2 + keyCount
        func next<T: PostgresDecodable>(_ type: T.Type) throws -> T {
            defer { index += 1 }
            return try cells[index].decode(T.self)
        }
        var states: [MeasureState] = []
        for measure in definition.storedMeasures {
            switch measure.kind {
            case .sum, .count: states.append(.sum(try next(Int64?.self) ?? 0))
            case .min: states.append(.minimum(try next(Int64?.self)))
            case .max: states.append(.maximum(try next(Int64?.self)))
            case .latest:
                let value = try next(Int64?.self)
                let at = try next(Int64?.self)
                let id = try next(String?.self)
                if let value, let at, let id {
                    states.append(.latest(LatestValue(at: at, id: id, value: value)))
                } else {
                    states.append(.latest(nil))
                }
            case .onHand:
                let settled = try next(Int64.self)
                let at = try next(Int64?.self)
                let id = try next(String?.self)
                let quantity = try next(Int64?.self)
                let count = at.flatMap { at in id.flatMap { id in quantity.map { StockCount(at: at, id: id, quantity: $0) } } }
                states.append(.onHand(OnHandState(count: count, settled: settled)))
            case .derived: break
            }
        }
        return (RowKey(bucket: bucket, keys: keys), states)
    }
}
