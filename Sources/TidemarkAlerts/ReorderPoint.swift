/// The stock level at which a store should reorder a product, and how long an order takes
/// to arrive. Set for one product, or for a category as the default of its products.
public struct ReorderPoint: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        case product(String)
        case category(String)
    }

    public var storeID: String
    public var target: Target
    /// Units: on hand strictly below it is low stock.
    public var reorderPoint: Int64
    /// Hours a reorder takes to arrive: fewer hours of cover than this is a projected stock-out.
    public var leadTimeHours: Int64

    public init(storeID: String, target: Target, reorderPoint: Int64, leadTimeHours: Int64) {
        self.storeID = storeID
        self.target = target
        self.reorderPoint = reorderPoint
        self.leadTimeHours = leadTimeHours
    }

    public var productID: String? {
        if case .product(let id) = target { return id }
        return nil
    }

    public var category: String? {
        if case .category(let name) = target { return name }
        return nil
    }
}

/// Every reorder point, looked up the way alerts and `below=reorder` need: the product's own
/// for its store, else its category's default for that store.
public struct ReorderPointTable: Sendable {
    private var byProduct: [StoreAndKey: ReorderPoint] = [:]
    private var byCategory: [StoreAndKey: ReorderPoint] = [:]
    /// Stores with at least one reorder point: the only ones worth reading stock for.
    public private(set) var storeIDs: Set<String> = []

    private struct StoreAndKey: Hashable {
        var storeID: String
        var key: String
    }

    public init(_ points: [ReorderPoint]) {
        for point in points {
            storeIDs.insert(point.storeID)
            switch point.target {
            case .product(let id): byProduct[StoreAndKey(storeID: point.storeID, key: id)] = point
            case .category(let name): byCategory[StoreAndKey(storeID: point.storeID, key: name)] = point
            }
        }
    }

    public var isEmpty: Bool { storeIDs.isEmpty }

    /// The reorder point of a store's product; `category` is the product's, when known.
    public func reorderPoint(storeID: String, productID: String, category: String?) -> ReorderPoint? {
        if let own = byProduct[StoreAndKey(storeID: storeID, key: productID)] { return own }
        guard let category else { return nil }
        return byCategory[StoreAndKey(storeID: storeID, key: category)]
    }
}
