/// Reorder points for `GET /v1/stock?below=reorder`, provided by the alerts layer (which
/// knows reorder points and each product's category) without the serving layer depending on it.
public protocol ReorderPointLookup: Sendable {
    /// The current reorder points, as a function of store and product; nil where none applies.
    func reorderPoints() async throws -> @Sendable (_ storeID: String, _ productID: String) -> Int64?
}
