/// The kinds of stock alert.
public enum AlertKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// On hand is 0 or less.
    case stockOut = "stock_out"
    /// On hand is above 0 but below the reorder point.
    case lowStock = "low_stock"
    /// At the last 24 hours' sales rate, on hand lasts fewer hours than a reorder takes to arrive.
    case projectedStockOut = "projected_stock_out"
}

/// One condition: a kind of alert for a store's product.
public struct AlertKey: Sendable, Hashable {
    public var kind: AlertKind
    public var storeID: String
    public var productID: String

    public init(kind: AlertKind, storeID: String, productID: String) {
        self.kind = kind
        self.storeID = storeID
        self.productID = productID
    }
}

/// What the evaluation read for a store's product: merged on hand and units sold in the
/// hourly buckets of the last 24 hours.
public struct StockReading: Sendable, Hashable {
    public var storeID: String
    public var productID: String
    public var onHand: Int64
    public var unitsSold24h: Int64

    public init(storeID: String, productID: String, onHand: Int64, unitsSold24h: Int64) {
        self.storeID = storeID
        self.productID = productID
        self.onHand = onHand
        self.unitsSold24h = unitsSold24h
    }
}

/// The numbers that make a condition true, kept with the episode it fires.
public struct AlertFigures: Sendable, Hashable {
    public var onHand: Int64
    public var reorderPoint: Int64
    public var leadTimeHours: Int64
    public var unitsSold24h: Int64
    /// On hand divided by the hourly sales rate; nil when nothing sold (no end in sight).
    public var hoursOfCover: Double?
}

/// Which conditions hold, from readings and reorder points: pure, so the rules are tested
/// without a database.
public enum AlertRules {
    /// Every condition that holds now. Products without a reorder point (their own or their
    /// category's for that store) are not watched.
    public static func conditions(
        _ readings: [StockReading], reorderPoints: ReorderPointTable, categories: [String: String]
    ) -> [AlertKey: AlertFigures] {
        var result: [AlertKey: AlertFigures] = [:]
        for reading in readings {
            guard
                let point = reorderPoints.reorderPoint(
                    storeID: reading.storeID, productID: reading.productID, category: categories[reading.productID])
            else { continue }
            let figures = AlertFigures(
                onHand: reading.onHand, reorderPoint: point.reorderPoint, leadTimeHours: point.leadTimeHours,
                unitsSold24h: reading.unitsSold24h, hoursOfCover: hoursOfCover(onHand: reading.onHand, unitsSold24h: reading.unitsSold24h))
            for kind in kinds(figures) {
                result[AlertKey(kind: kind, storeID: reading.storeID, productID: reading.productID)] = figures
            }
        }
        return result
    }

    static func kinds(_ figures: AlertFigures) -> [AlertKind] {
        guard figures.onHand > 0 else { return [.stockOut] }
        var kinds: [AlertKind] = []
        if figures.onHand < figures.reorderPoint { kinds.append(.lowStock) }
        // onHand / (sold / 24) < leadTime, in integers: onHand * 24 < leadTime * sold.
        if figures.unitsSold24h > 0 {
            let (cover, coverOverflow) = figures.onHand.multipliedReportingOverflow(by: 24)
            let (need, needOverflow) = figures.leadTimeHours.multipliedReportingOverflow(by: figures.unitsSold24h)
            if !coverOverflow && (needOverflow || cover < need) { kinds.append(.projectedStockOut) }
        }
        return kinds
    }

    static func hoursOfCover(onHand: Int64, unitsSold24h: Int64) -> Double? {
        guard unitsSold24h > 0 else { return nil }
        return (Double(max(onHand, 0)) * 24 / Double(unitsSold24h) * 100).rounded() / 100
    }

    /// What to record: conditions without an open episode fire, open episodes whose
    /// condition no longer holds resolve.
    public static func transitions(firing: [AlertKey: Int64], conditions: [AlertKey: AlertFigures]) -> AlertTransitions {
        var plan = AlertTransitions()
        for (key, figures) in conditions where firing[key] == nil { plan.fire.append((key, figures)) }
        for (key, id) in firing where conditions[key] == nil { plan.resolve.append(id) }
        plan.fire.sort { ($0.0.storeID, $0.0.productID, $0.0.kind.rawValue) < ($1.0.storeID, $1.0.productID, $1.0.kind.rawValue) }
        plan.resolve.sort()
        return plan
    }
}

/// The changes one evaluation makes.
public struct AlertTransitions: Sendable {
    public var fire: [(AlertKey, AlertFigures)] = []
    /// Ids of the episodes that end.
    public var resolve: [Int64] = []

    public var isEmpty: Bool { fire.isEmpty && resolve.isEmpty }
}
