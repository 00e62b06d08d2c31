import TidemarkEvents

/// A deliberately simple recomputation of the shipped views straight from DESIGN.md,
/// sharing no code with the pipelines engine, for the property and end-to-end tests.
///
/// Rows are keyed by `"<bucket micros or ->|key|key"` and hold measure values by name.
public enum Oracle {
    public typealias Rows = [String: [String: Int64?]]

    /// Keeps the first event per id, as the raw log does.
    public static func stored(_ events: [Event]) -> [Event] {
        var seen: Set<[UInt8]> = []
        return events.filter { seen.insert(Array($0.id.utf8)).inserted }
    }

    static func floor(_ time: Int64, _ width: Int64) -> Int64 {
        time - (((time % width) + width) % width)
    }

    static func idGreater(_ a: String, _ b: String) -> Bool { b.utf8.lexicographicallyPrecedes(a.utf8) }

    struct SalesRow {
        var unitsSold: Int64 = 0
        var unitsReturned: Int64 = 0
        var gross: Int64 = 0
        var refunds: Int64 = 0
        var saleLines: Int64 = 0
        var minPrice: Int64?
        var maxPrice: Int64?

        var values: [String: Int64?] {
            [
                "units_sold": unitsSold, "units_returned": unitsReturned, "net_units": unitsSold - unitsReturned,
                "gross_revenue_cents": gross, "refunds_cents": refunds, "net_revenue_cents": gross - refunds,
                "sale_lines": saleLines, "min_unit_price_cents": minPrice, "max_unit_price_cents": maxPrice,
            ]
        }
    }

    /// Sales measures grouped by `group` (nil drops the event).
    public static func sales(_ events: [Event], group: (Event) -> String?) -> Rows {
        var rows: [String: SalesRow] = [:]
        for event in events {
            guard let line = event.saleLine, let key = group(event) else { continue }
            var row = rows[key] ?? SalesRow()
            let amount = line.quantity * line.unitPriceCents
            if event.type == .sale {
                row.unitsSold += line.quantity
                row.gross += amount
                row.saleLines += 1
                row.minPrice = min(row.minPrice ?? .max, line.unitPriceCents)
                row.maxPrice = max(row.maxPrice ?? .min, line.unitPriceCents)
            } else {
                row.unitsReturned += line.quantity
                row.refunds += amount
            }
            rows[key] = row
        }
        return rows.mapValues(\.values)
    }

    static let hour: Int64 = 3_600_000_000
    static let day: Int64 = 86_400_000_000

    public static func salesByProductHour(_ events: [Event]) -> Rows {
        sales(events) { "\(floor($0.occurredAt.microsecondsSinceEpoch, hour))|\($0.storeID)|\($0.productID)" }
    }

    public static func salesByCategoryDay(_ events: [Event]) -> Rows {
        sales(events) { "\(floor($0.occurredAt.microsecondsSinceEpoch, day))|\($0.saleLine?.category ?? "unknown")" }
    }

    public static func salesByStoreDay(_ events: [Event]) -> Rows {
        sales(events) { "\(floor($0.occurredAt.microsecondsSinceEpoch, day))|\($0.storeID)" }
    }

    public static func salesByStoreCategoryHour(_ events: [Event]) -> Rows {
        sales(events) { "\(floor($0.occurredAt.microsecondsSinceEpoch, hour))|\($0.storeID)|\($0.saleLine?.category ?? "unknown")" }
    }

    public static func productCategories(_ events: [Event]) -> Rows {
        var lines: [String: Int64] = [:]
        for event in events where event.type == .sale {
            lines["-|\(event.productID)|\(event.saleLine?.category ?? "unknown")", default: 0] += 1
        }
        return lines.mapValues { ["sale_lines": $0] }
    }

    public static func stockLevels(_ events: [Event]) -> Rows {
        var byKey: [String: [Event]] = [:]
        for event in events where event.type != .price { byKey["-|\(event.storeID)|\(event.productID)", default: []].append(event) }
        var rows: Rows = [:]
        for (key, list) in byKey {
            var latestCount: (at: Int64, id: String, quantity: Int64)?
            for event in list {
                guard case .stock(.count, let quantity) = event.payload else { continue }
                let at = event.occurredAt.microsecondsSinceEpoch
                if let current = latestCount, current.at > at || (current.at == at && !idGreater(event.id, current.id)) { continue }
                latestCount = (at, event.id, quantity)
            }
            var onHand = latestCount?.quantity ?? 0
            var received: Int64 = 0
            var adjusted: Int64 = 0
            var sold: Int64 = 0
            var returned: Int64 = 0
            var lastMovement: Int64 = .min
            for event in list {
                let at = event.occurredAt.microsecondsSinceEpoch
                lastMovement = max(lastMovement, at)
                let after = latestCount.map { at > $0.at } ?? true
                switch event.payload {
                case .sale(let line):
                    sold += line.quantity
                    if after { onHand -= line.quantity }
                case .return(let line):
                    returned += line.quantity
                    if after { onHand += line.quantity }
                case .stock(.receipt, let quantity):
                    received += quantity
                    if after { onHand += quantity }
                case .stock(.adjustment, let quantity):
                    adjusted += quantity
                    if after { onHand += quantity }
                case .stock(.count, _), .price:
                    break
                }
            }
            rows[key] = [
                "on_hand": onHand, "received": received, "adjusted": adjusted, "sold": sold, "returned": returned,
                "last_movement_at": lastMovement,
            ]
        }
        return rows
    }

    public static func prices(_ events: [Event]) -> Rows {
        var latest: [String: (at: Int64, id: String, cents: Int64)] = [:]
        for event in events {
            guard case .price(let cents) = event.payload else { continue }
            let at = event.occurredAt.microsecondsSinceEpoch
            if let current = latest[event.productID], current.at > at || (current.at == at && !idGreater(event.id, current.id)) { continue }
            latest[event.productID] = (at, event.id, cents)
        }
        return latest.reduce(into: Rows()) { rows, entry in
            rows["-|\(entry.key)"] = ["price_cents": entry.value.cents, "changed_at": entry.value.at]
        }
    }

    /// Every shipped view at its own grain and keys.
    public static func allViews(_ events: [Event]) -> [String: Rows] {
        [
            "sales_by_product_hour": salesByProductHour(events), "sales_by_category_day": salesByCategoryDay(events),
            "sales_by_store_day": salesByStoreDay(events), "stock_levels": stockLevels(events), "prices": prices(events),
            "sales_by_store_category_hour": salesByStoreCategoryHour(events), "product_categories": productCategories(events),
        ]
    }
}
