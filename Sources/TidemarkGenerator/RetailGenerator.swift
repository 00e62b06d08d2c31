import TidemarkEvents

/// What `tidemark generate` makes.
public struct GeneratorConfiguration: Sendable {
    public var seed: UInt64 = 1
    /// Midnight UTC of the first day.
    public var firstDay: Timestamp
    public var days: Int = 1
    /// Average events per day; weekends get more, mid-week fewer.
    public var eventsPerDay: Int = 50_000
    public var stores: Int = 12
    public var products: Int = 400
    public var currency: String = "USD"
    /// Share of events that arrive 30 minutes to 6 hours after they happened.
    public var lateFraction: Double = 0.004
    /// Share of events that are posted twice (a till retrying after a timeout).
    public var duplicateFraction: Double = 0.003

    public init(firstDay: Timestamp) {
        self.firstDay = firstDay
    }
}

/// Deterministic synthetic retail activity, one day at a time, in arrival order.
///
/// Sales come in baskets (one `order_id`, one to six lines) following a daily and weekly
/// rhythm and a long-tail product popularity; about 3% of lines are returned later; a
/// simulated on-hand per store and product drives morning receipts, stock-outs, nightly
/// cycle counts and shrinkage adjustments; a few prices change each night.
public struct RetailGenerator {
    public let configuration: GeneratorConfiguration
    private var random: SplitMix64
    private let catalog: Catalog
    private var dayIndex = 0
    private var onHand: [Int]
    private var prices: [Int64]
    private var basketCounter = 0

    static let hourWeights: [Double] = [
        0.2, 0.1, 0.05, 0.05, 0.1, 0.3, 0.8, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 6, 5, 4.5, 5, 6, 6.5, 5.5, 4, 2.5, 1.2, 0.5,
    ]
    static let microsPerHour: Int64 = 3_600_000_000
    static let microsPerDay: Int64 = 86_400_000_000

    public init(configuration: GeneratorConfiguration) {
        self.configuration = configuration
        self.random = SplitMix64(seed: configuration.seed)
        self.catalog = Catalog(storeCount: max(1, configuration.stores), productCount: max(1, configuration.products), random: &random)
        self.prices = catalog.products.map(\.basePriceCents)
        var initial = SplitMix64(seed: configuration.seed ^ 0x5EED)
        self.onHand = (0..<(catalog.stores.count * catalog.products.count)).map { _ in Int.random(in: 3...48, using: &initial) }
    }

    /// The next day's events in the order a server would receive them, or nil after the last day.
    public mutating func nextDay() -> [Event]? {
        guard dayIndex < configuration.days else { return nil }
        let dayStart = configuration.firstDay.adding(microseconds: Int64(dayIndex) * Self.microsPerDay)
        dayIndex += 1
        var timed: [(occurred: Int64, event: Event)] = []
        timed.reserveCapacity(configuration.eventsPerDay + configuration.eventsPerDay / 10)

        let dayOfWeek = Int((dayStart.microsecondsSinceEpoch / Self.microsPerDay + 4) % 7)  // 0 = Sunday
        let weekFactor = [1.1, 0.92, 0.92, 0.95, 1.0, 1.1, 1.25][dayOfWeek] / 1.034
        let targetLines = Double(configuration.eventsPerDay) * 0.86 * weekFactor

        // Night: price changes and cycle counts, before the shops open.
        for product in catalog.products.indices where random.chance(0.01) {
            let factor = Double.random(in: 0.8...1.15, using: &random)
            prices[product] = max(9, Int64(Double(prices[product]) * factor) / 10 * 10 + 9)
            let at = dayStart.adding(microseconds: Int64.random(in: 0..<Self.microsPerHour, using: &random))
            timed.append(
                (at.microsecondsSinceEpoch, makeEvent(at, store: 0, product: product, payload: .price(cents: prices[product]), priceOnly: true)))
        }
        let countShare = 1.0 / 7.0
        for slot in onHand.indices where random.chance(countShare) {
            let (store, product) = (slot / catalog.products.count, slot % catalog.products.count)
            let shrink = random.chance(0.2) ? Int.random(in: 1...2, using: &random) : 0
            onHand[slot] = max(0, onHand[slot] - shrink)
            let at = dayStart.adding(microseconds: 2 * Self.microsPerHour + Int64.random(in: 0..<Self.microsPerHour, using: &random))
            timed.append(
                (at.microsecondsSinceEpoch, makeEvent(at, store: store, product: product, payload: .stock(.count, quantity: Int64(onHand[slot])))))
        }

        // Baskets through the day, with receipts at 06:00 for what ran low.
        let hourCumulative = Self.hourWeights.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1) }
        var basketTimes: [Int64] = []
        var lines = 0.0
        while lines < targetLines {
            let hour = Int64(random.pick(cumulative: hourCumulative))
            basketTimes.append(hour * Self.microsPerHour + Int64.random(in: 0..<Self.microsPerHour, using: &random) / 1000 * 1000)
            lines += 2.2
        }
        basketTimes.sort()
        var receiptsDone = false
        for offset in basketTimes {
            if !receiptsDone, offset >= 6 * Self.microsPerHour {
                receiptsDone = true
                addReceipts(dayStart: dayStart, expectedLines: targetLines, into: &timed)
            }
            addBasket(at: dayStart.adding(microseconds: offset), dayStart: dayStart, into: &timed)
        }
        if !receiptsDone { addReceipts(dayStart: dayStart, expectedLines: targetLines, into: &timed) }

        return arrivalOrder(timed)
    }

    /// Morning deliveries: every store and product whose stock would not last the day is topped
    /// up to about two days of its expected demand, in whole cases of 12.
    private mutating func addReceipts(dayStart: Timestamp, expectedLines: Double, into timed: inout [(occurred: Int64, event: Event)]) {
        let productTotal = catalog.productWeights.last ?? 1
        let storeTotal = catalog.storeWeights.last ?? 1
        for slot in onHand.indices {
            let (store, product) = (slot / catalog.products.count, slot % catalog.products.count)
            let productShare = (catalog.productWeights[product] - (product > 0 ? catalog.productWeights[product - 1] : 0)) / productTotal
            let storeShare = catalog.stores[store].size / storeTotal
            let dailyUnits = Int(expectedLines * productShare * storeShare * 1.4) + 1
            guard onHand[slot] < dailyUnits + 4 else { continue }
            let quantity = ((2 * dailyUnits + 12 - onHand[slot]) / 12 + 1) * 12
            onHand[slot] += quantity
            let at = dayStart.adding(microseconds: 6 * Self.microsPerHour + Int64.random(in: 0..<(3 * Self.microsPerHour), using: &random))
            timed.append(
                (at.microsecondsSinceEpoch, makeEvent(at, store: store, product: product, payload: .stock(.receipt, quantity: Int64(quantity)))))
        }
    }

    private mutating func addBasket(at time: Timestamp, dayStart: Timestamp, into timed: inout [(occurred: Int64, event: Event)]) {
        let store = random.pick(cumulative: catalog.storeWeights)
        basketCounter += 1
        let orderID = "R-\(catalog.stores[store].id)-\(configuration.seed)-\(basketCounter)"
        let customerID = random.chance(0.35) ? "C" + String(Int.random(in: 1...20_000, using: &random)).leftPadded(5) : nil
        var lineCount = 1
        while lineCount < 6, random.chance(0.55) { lineCount += 1 }
        for line in 0..<lineCount {
            let product = random.pick(cumulative: catalog.productWeights)
            let slot = store * catalog.products.count + product
            guard onHand[slot] > 0 else { continue }  // out of stock: the shopper leaves it
            var quantity = 1
            while quantity < 6, random.chance(0.25) { quantity += 1 }
            quantity = min(quantity, onHand[slot])
            onHand[slot] -= quantity
            let at = time.adding(microseconds: Int64(line) * 2_000_000)
            let saleLine = SaleLine(
                quantity: Int64(quantity), unitPriceCents: prices[product], category: catalog.products[product].category,
                customerID: customerID, orderID: orderID, channel: catalog.stores[store].channel, currency: configuration.currency)
            timed.append((at.microsecondsSinceEpoch, makeEvent(at, store: store, product: product, payload: .sale(saleLine))))
            if random.chance(0.03) {
                let later = at.adding(microseconds: Int64.random(in: 600_000_000...(8 * Self.microsPerHour), using: &random))
                if later.microsecondsSinceEpoch < dayStart.microsecondsSinceEpoch + Self.microsPerDay {
                    var returned = saleLine
                    returned.quantity = Int64.random(in: 1...Int64(quantity), using: &random)
                    onHand[slot] += Int(returned.quantity)
                    timed.append((later.microsecondsSinceEpoch, makeEvent(later, store: store, product: product, payload: .return(returned))))
                }
            }
            if random.chance(0.003) {
                let shrink = random.chance(0.85) ? -Int64.random(in: 1...3, using: &random) : Int64.random(in: 1...2, using: &random)
                onHand[slot] = max(0, onHand[slot] + Int(shrink))
                let later = at.adding(microseconds: 900_000_000)
                timed.append(
                    (later.microsecondsSinceEpoch, makeEvent(later, store: store, product: product, payload: .stock(.adjustment, quantity: shrink))))
            }
        }
    }

    private mutating func makeEvent(_ at: Timestamp, store: Int, product: Int, payload: EventPayload, priceOnly: Bool = false) -> Event {
        Event(
            id: random.uuidString(), occurredAt: at, storeID: priceOnly ? "HQ" : catalog.stores[store].id,
            productID: catalog.products[product].id, payload: payload)
    }

    /// Sorts by arrival: most events arrive within two seconds, a few hours late, a few twice.
    private mutating func arrivalOrder(_ timed: [(occurred: Int64, event: Event)]) -> [Event] {
        var arrivals: [(arrival: Int64, tiebreak: Int, event: Event)] = []
        arrivals.reserveCapacity(timed.count + timed.count / 100)
        for (position, item) in timed.enumerated() {
            var arrival = item.occurred + Int64.random(in: 0..<2_000_000, using: &random)
            if random.chance(configuration.lateFraction) {
                arrival += Int64.random(in: (Self.microsPerHour / 2)...(6 * Self.microsPerHour), using: &random)
            }
            arrivals.append((arrival, position, item.event))
            if random.chance(configuration.duplicateFraction) {
                arrivals.append((arrival + Int64.random(in: 1_000_000...600_000_000, using: &random), position, item.event))
            }
        }
        arrivals.sort { ($0.arrival, $0.tiebreak) < ($1.arrival, $1.tiebreak) }
        return arrivals.map(\.event)
    }
}
