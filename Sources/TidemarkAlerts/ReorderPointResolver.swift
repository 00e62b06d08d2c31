import TidemarkServing

/// Answers `ReorderPointLookup` from the stored reorder points and the products' categories.
public struct ReorderPointResolver: ReorderPointLookup {
    let store: ReorderPointStore
    let categories: ProductCategories

    public init(store: ReorderPointStore, categories: ProductCategories) {
        self.store = store
        self.categories = categories
    }

    public func reorderPoints() async throws -> @Sendable (String, String) -> Int64? {
        let table = ReorderPointTable(try await store.list().map(\.point))
        let categories = try await categories.refreshed()
        return { storeID, productID in
            table.reorderPoint(storeID: storeID, productID: productID, category: categories[productID])?.reorderPoint
        }
    }
}
