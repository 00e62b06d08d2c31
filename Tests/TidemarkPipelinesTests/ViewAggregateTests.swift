import Testing
import TidemarkEvents
import TidemarkPipelines
import TidemarkTestSupport

/// The Swift evaluation of a view, folded in any split, combines to the same rows.
@Suite struct ViewAggregateTests {
    static let hour = Sample.hour

    static func event(_ id: String, minutes: Int64, _ payload: EventPayload, product: String = "P1") -> Event {
        Event(id: id, occurredAt: hour.adding(seconds: minutes * 60), storeID: "S1", productID: product, payload: payload)
    }

    @Test func onHandFollowsTheLatestCountWhicheverOrderEventsArrive() throws {
        let stock = try #require(try ShippedPipelines.catalog().view(named: "stock_levels"))
        let events = [
            Self.event("a", minutes: 0, .stock(.receipt, quantity: 10)),
            Self.event("b", minutes: 30, .sale(SaleLine(quantity: 2, unitPriceCents: 5))),
            Self.event("c", minutes: 20, .stock(.count, quantity: 7)),  // late count: the sale at :30 is after it
            Self.event("d", minutes: 20, .stock(.count, quantity: 9)),  // same time, greater id wins
            Self.event("e", minutes: 10, .return(SaleLine(quantity: 1, unitPriceCents: 5))),  // before the count: ignored
        ]
        for order in [events, events.reversed(), [events[2], events[0], events[4], events[3], events[1]]] {
            var aggregate = ViewAggregate(definition: stock)
            for event in order { aggregate.fold(event) }
            let states = try #require(aggregate.rows[RowKey(bucket: 0, keys: ["S1", "P1"])])
            #expect(states[0].value == 7, "on hand = count 9 (id d) - sale 2")
            #expect(states[1].value == 10)  // received
        }
    }

    @Test func batchAndSpeedPartsMergeOnHandExactly() {
        // Batch: count 5 at :10, then +3 at :40 (settled 3). Speed: a late count 4 at :30 and a sale of 1 at :50.
        let batch = OnHandState(count: StockCount(at: 10, id: "x", quantity: 5), settled: 3)
        let speed = OnHandState(count: StockCount(at: 30, id: "y", quantity: 4), movements: [StockMovement(at: 50, delta: -1)])
        let merged = OnHandState.merge(batch: batch, speed: speed) { 3 }  // the batch's movements after :30
        #expect(merged.value == 6)
        // A speed count older than the batch's changes nothing.
        let older = OnHandState(count: StockCount(at: 5, id: "z", quantity: 100), movements: [StockMovement(at: 50, delta: -1)])
        #expect(
            OnHandState.merge(batch: batch, speed: older) {
                Issue.record("no lookup needed"); return 0
            }.value == 7)
    }

    @Test func latestBreaksTiesByIdBytes() throws {
        let prices = try #require(try ShippedPipelines.catalog().view(named: "prices"))
        var aggregate = ViewAggregate(definition: prices)
        aggregate.fold(Self.event("e10", minutes: 5, .price(cents: 100)))
        aggregate.fold(Self.event("e9", minutes: 5, .price(cents: 200)))  // "e9" > "e10" byte-wise
        aggregate.fold(Self.event("e1", minutes: 1, .price(cents: 300)))
        let states = try #require(aggregate.rows[RowKey(bucket: 0, keys: ["P1"])])
        #expect(states[0].value == 200)
    }
}
