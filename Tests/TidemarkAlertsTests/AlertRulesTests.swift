import Testing
import TidemarkAlerts

@Suite struct AlertRulesTests {
    static let table = ReorderPointTable([
        ReorderPoint(storeID: "S01", target: .product("P1"), reorderPoint: 10, leadTimeHours: 24),
        ReorderPoint(storeID: "S01", target: .category("dairy"), reorderPoint: 5, leadTimeHours: 0),
    ])

    static func kinds(onHand: Int64, sold: Int64 = 0, product: String = "P1", categories: [String: String] = [:]) -> Set<AlertKind> {
        let reading = StockReading(storeID: "S01", productID: product, onHand: onHand, unitsSold24h: sold)
        return Set(AlertRules.conditions([reading], reorderPoints: table, categories: categories).keys.map(\.kind))
    }

    @Test func stockOutLowStockAndProjected() {
        #expect(Self.kinds(onHand: 0) == [.stockOut])
        #expect(Self.kinds(onHand: -4) == [.stockOut])
        #expect(Self.kinds(onHand: 9) == [.lowStock])
        #expect(Self.kinds(onHand: 10) == [])
        // 24 units a day is 1 an hour: 20 on hand last 20 hours, under the 24-hour lead time.
        #expect(Self.kinds(onHand: 20, sold: 24) == [.projectedStockOut])
        #expect(Self.kinds(onHand: 24, sold: 24) == [], "exactly the lead time is enough")
        #expect(Self.kinds(onHand: 5, sold: 48) == [.lowStock, .projectedStockOut])
        #expect(Self.kinds(onHand: 0, sold: 48) == [.stockOut], "a stock-out is not also projected")
    }

    @Test func theProductsOwnPointWinsOverItsCategorysDefault() {
        #expect(Self.kinds(onHand: 7, product: "P1", categories: ["P1": "dairy"]) == [.lowStock])
        #expect(Self.kinds(onHand: 7, product: "P2", categories: ["P2": "dairy"]) == [])
        #expect(Self.kinds(onHand: 4, product: "P2", categories: ["P2": "dairy"]) == [.lowStock])
        #expect(Self.kinds(onHand: 4, product: "P2") == [], "no category known: not watched")
        #expect(Self.kinds(onHand: 4, product: "P3", categories: ["P3": "bakery"]) == [], "no point for its category")
    }

    @Test func figuresAreKeptWithTheCondition() throws {
        let reading = StockReading(storeID: "S01", productID: "P1", onHand: 3, unitsSold24h: 36)
        let conditions = AlertRules.conditions([reading], reorderPoints: Self.table, categories: [:])
        let figures = try #require(conditions[AlertKey(kind: .projectedStockOut, storeID: "S01", productID: "P1")])
        #expect(figures.onHand == 3 && figures.reorderPoint == 10 && figures.leadTimeHours == 24 && figures.unitsSold24h == 36)
        #expect(figures.hoursOfCover == 2)
    }

    @Test func anEpisodeFiresOnceAndResolvesWhenItsConditionClears() {
        let low = AlertKey(kind: .lowStock, storeID: "S01", productID: "P1")
        let out = AlertKey(kind: .stockOut, storeID: "S01", productID: "P2")
        let figures = AlertRules.conditions(
            [StockReading(storeID: "S01", productID: "P1", onHand: 1, unitsSold24h: 0)], reorderPoints: Self.table, categories: [:]
        )[low]!
        let first = AlertRules.transitions(firing: [:], conditions: [low: figures])
        #expect(first.fire.map(\.0) == [low] && first.resolve.isEmpty)
        let still = AlertRules.transitions(firing: [low: 7], conditions: [low: figures])
        #expect(still.isEmpty, "still low: nothing new")
        let cleared = AlertRules.transitions(firing: [low: 7, out: 8], conditions: [:])
        #expect(cleared.fire.isEmpty && cleared.resolve == [7, 8])
    }
}
