import TidemarkEvents
import TidemarkPipelines
import TidemarkServing
import TidemarkSpeed

/// Reads, through the serving layer (batch at W plus speed above W), what alerts judge by:
/// merged on hand from the stock view and units sold over the last 24 hours from the hourly
/// sales view.
public struct StockReader: Sendable {
    let engine: QueryEngine
    let stockView: PipelineDefinition?
    let salesView: PipelineDefinition?

    public init(engine: QueryEngine, catalog: PipelineCatalog) {
        self.engine = engine
        stockView = [catalog.view(named: "stock_levels")].compactMap { $0 }.first { view in
            view.hasOnHand && view.keys.contains(.storeID) && view.keys.contains(.productID)
        }
        // Velocity needs store, product and units sold per bucket no coarser than an hour.
        salesView = [catalog.view(named: "sales_by_product_hour")].compactMap { $0 }.first { view in
            view.keys.contains(.storeID) && view.keys.contains(.productID) && view.measure(named: "units_sold") != nil
                && [.minute, .hour].contains(view.grain)
        }
    }

    /// Readings for every product of these stores that the stock view has a row for.
    public func readings(storeIDs: Set<String>, now: Timestamp) async throws -> [StockReading] {
        guard let stockView, !storeIDs.isEmpty,
            let onHand = stockView.measures.firstIndex(where: { $0.kind == .onHand })
        else { return [] }
        var stockQuery = ViewQuery.everything(of: stockView)
        stockQuery.groupBy = [.storeID, .productID]
        if stockView.keys.contains(.storeID) { stockQuery.filters[.storeID] = storeIDs }
        let stock = try await engine.answer(stockView, stockQuery)
        let sold = try await unitsSold24h(storeIDs: storeIDs, now: now)
        return stock.rows.compactMap { row in
            guard let value = row.values[onHand] else { return nil }
            let key = StoreProduct(storeID: row.keys[0], productID: row.keys[1])
            return StockReading(storeID: key.storeID, productID: key.productID, onHand: value, unitsSold24h: sold[key] ?? 0)
        }
    }

    struct StoreProduct: Hashable {
        var storeID: String
        var productID: String
    }

    /// Units sold in the buckets that `from=-24h` selects (the same number as
    /// `GET /v1/views/sales_by_product_hour?from=-24h&grain=all`), so users can check it.
    private func unitsSold24h(storeIDs: Set<String>, now: Timestamp) async throws -> [StoreProduct: Int64] {
        guard let salesView, let units = salesView.measures.firstIndex(where: { $0.name == "units_sold" }) else { return [:] }
        var query = ViewQuery.everything(of: salesView)
        query.fromBucket = salesView.grain.bucketStartAtOrAfter(now.adding(seconds: -24 * 3600).microsecondsSinceEpoch)
        query.grain = .all
        query.groupBy = [.storeID, .productID]
        query.filters[.storeID] = storeIDs
        let answer = try await engine.answer(salesView, query)
        var sold: [StoreProduct: Int64] = [:]
        for row in answer.rows {
            sold[StoreProduct(storeID: row.keys[0], productID: row.keys[1])] = row.values[units] ?? 0
        }
        return sold
    }
}
