import TidemarkEvents

/// The invented shop: stores, products, categories and their prices.
struct Catalog {
    struct Category {
        var name: String
        var priceRangeCents: ClosedRange<Int64>
        var share: Double
    }

    struct Product {
        var id: String
        var category: String
        var basePriceCents: Int64
    }

    struct Store {
        var id: String
        var channel: String
        var size: Double
    }

    static let categories: [Category] = [
        Category(name: "produce", priceRangeCents: 49...899, share: 14),
        Category(name: "dairy", priceRangeCents: 89...1_299, share: 12),
        Category(name: "bakery", priceRangeCents: 99...1_499, share: 8),
        Category(name: "beverages", priceRangeCents: 79...2_999, share: 13),
        Category(name: "snacks", priceRangeCents: 99...799, share: 10),
        Category(name: "frozen", priceRangeCents: 199...1_999, share: 7),
        Category(name: "meat", priceRangeCents: 399...4_999, share: 7),
        Category(name: "pantry", priceRangeCents: 89...1_599, share: 11),
        Category(name: "household", priceRangeCents: 149...3_499, share: 7),
        Category(name: "personal_care", priceRangeCents: 199...2_999, share: 6),
        Category(name: "electronics", priceRangeCents: 999...49_999, share: 2),
        Category(name: "toys", priceRangeCents: 499...9_999, share: 3),
    ]

    var stores: [Store]
    var products: [Product]
    /// Cumulative popularity per product (a Zipf-like long tail).
    var productWeights: [Double]
    var storeWeights: [Double]

    init(storeCount: Int, productCount: Int, random: inout SplitMix64) {
        stores = (1...storeCount).map { index in
            let isWeb = index == storeCount && storeCount > 2
            return Store(
                id: isWeb ? "WEB01" : "S" + String(index).leftPadded(2),
                channel: isWeb ? "web" : "till",
                size: isWeb ? 1.4 : Double.random(in: 0.5...1.5, using: &random))
        }
        let categoryWeights = Self.categories.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1.share) }
        products = (1...productCount).map { index in
            let category = Self.categories[random.pick(cumulative: categoryWeights)]
            let price = Int64.random(in: category.priceRangeCents, using: &random)
            // Prices end in 9 like shelf prices do.
            return Product(id: "P" + String(index).leftPadded(5), category: category.name, basePriceCents: price / 10 * 10 + 9)
        }
        productWeights = products.indices.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + 1 / Double($1 + 8)) }
        storeWeights = stores.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1.size) }
    }
}
