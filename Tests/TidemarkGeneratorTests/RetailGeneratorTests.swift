import Foundation
import Testing
import TidemarkEvents
import TidemarkGenerator

@Suite struct RetailGeneratorTests {
    static let day = try! Timestamp(rfc3339: "2026-11-20T00:00:00Z")

    func generate(seed: UInt64, eventsPerDay: Int = 20_000, days: Int = 1) -> [Event] {
        var configuration = GeneratorConfiguration(firstDay: Self.day)
        configuration.seed = seed
        configuration.eventsPerDay = eventsPerDay
        configuration.days = days
        var generator = RetailGenerator(configuration: configuration)
        var all: [Event] = []
        while let events = generator.nextDay() { all += events }
        return all
    }

    @Test func sameSeedSameEvents() {
        #expect(generate(seed: 7) == generate(seed: 7))
        #expect(generate(seed: 7) != generate(seed: 8))
    }

    @Test func looksLikeADayOfRetail() throws {
        let events = generate(seed: 42)
        #expect(abs(events.count - 20_000) < 3_000, "\(events.count) events")
        let sales = events.filter { $0.type == .sale }
        let returns = events.filter { $0.type == .return }
        let stock = events.filter { $0.type == .stock }
        #expect(Double(returns.count) / Double(sales.count) > 0.015 && Double(returns.count) / Double(sales.count) < 0.045)
        for kind in StockKind.allCases {
            #expect(stock.contains { if case .stock(kind, _) = $0.payload { true } else { false } }, "no \(kind) events")
        }
        #expect(events.contains { $0.type == .price })
        #expect(Set(sales.compactMap { $0.saleLine?.orderID }).count < sales.count, "sales come in baskets")

        // Every event is valid wire format v1 and lies inside the day.
        let validator = EventValidator(rules: ValidationRules())
        for event in events {
            #expect(event.occurredAt >= Self.day && event.occurredAt < Self.day.adding(seconds: 86_400))
        }
        let encoder = JSONEncoder()
        let wire = try EventBodyDecoder().decode(try encoder.encode(events), format: .json)
        #expect((try? validator.validate(wire, now: Self.day.adding(seconds: 2 * 86_400)).get()) == events)

        // Some ids arrive twice and some events hours after they happened.
        #expect(Set(events.map(\.id)).count < events.count)
        var latest = Self.day
        var late = 0
        for event in events {
            if event.occurredAt.microsecondsSinceEpoch < latest.microsecondsSinceEpoch - 1_800_000_000 { late += 1 }
            latest = max(latest, event.occurredAt)
        }
        #expect(late > 0)
    }

    @Test func busierAtMiddayThanAtNight() {
        let events = generate(seed: 3).filter { $0.type == .sale }
        func hour(_ event: Event) -> Int64 { (event.occurredAt.microsecondsSinceEpoch - Self.day.microsecondsSinceEpoch) / 3_600_000_000 }
        let midday = events.count { hour($0) == 12 }
        let night = events.count { hour($0) == 3 }
        #expect(midday > 10 * max(1, night))
    }
}
