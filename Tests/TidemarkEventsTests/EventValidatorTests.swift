import Foundation
import Testing
import TidemarkEvents
import TidemarkTestSupport

@Suite struct EventValidatorTests {
    let validator = EventValidator(rules: ValidationRules(currency: "USD", maxFutureSkewSeconds: 300))
    let now = try! Timestamp(rfc3339: "2026-11-21T12:00:00Z")

    func decode(_ json: String) throws -> [WireEvent] {
        let format: EventBodyFormat = .json
        return try EventBodyDecoder().decode(Data(json.utf8), format: format)
    }

    @Test(arguments: ValidationCases.all)
    func eachRuleIsEnforced(_ rule: ValidationCase) throws {
        let result = validator.validate(try decode(rule.json), now: now)
        guard case .failure(let failure) = result else {
            Issue.record("accepted an event that breaks: \(rule.rule)")
            return
        }
        let blamed = failure.issues.filter { $0.field == rule.field }
        #expect(!blamed.isEmpty, "no issue for field \(rule.field): \(failure.issues)")
        #expect(blamed.contains { $0.message.contains(rule.messageContains) }, "messages: \(blamed.map(\.message))")
    }

    @Test func acceptsEveryTypeAndKeepsItsFields() throws {
        let body = """
            [{"id":"a","type":"sale","occurred_at":"2026-11-21T09:00:00-03:00","store_id":"S1","product_id":"P1","quantity":3,"unit_price_cents":199,"category":"dairy","customer_id":"C1","order_id":"O1","channel":"till","currency":"USD"},
             {"id":"b","type":"return","occurred_at":"2026-11-21T12:04:59Z","store_id":"S1","product_id":"P1","quantity":1,"unit_price_cents":0},
             {"id":"c","type":"stock","kind":"adjustment","quantity":-4,"occurred_at":"2026-11-21T10:00:00Z","store_id":"S1","product_id":"P1"},
             {"id":"d","type":"stock","kind":"count","quantity":0,"occurred_at":"2026-11-21T10:00:00Z","store_id":"S1","product_id":"P1"},
             {"id":"e","type":"price","price_cents":0,"occurred_at":"2026-11-21T10:00:00Z","store_id":"S1","product_id":"P1","category":null}]
            """
        let events = try validator.validate(try decode(body), now: now).get()
        #expect(events.map(\.type) == [.sale, .return, .stock, .stock, .price])
        #expect(events[0].occurredAt == (try Timestamp(rfc3339: "2026-11-21T12:00:00Z")))
        #expect(
            events[0].saleLine
                == SaleLine(quantity: 3, unitPriceCents: 199, category: "dairy", customerID: "C1", orderID: "O1", channel: "till", currency: "USD"))
        #expect(events[2].payload == .stock(.adjustment, quantity: -4))
        #expect(events[3].payload == .stock(.count, quantity: 0))
        #expect(events[4].payload == .price(cents: 0))
    }

    /// 64 two-byte characters are 128 bytes but within a 64-character limit; non-ASCII
    /// strings take the scanner's validating path and keep every character.
    @Test func lengthsCountCharactersNotBytes() throws {
        let store = String(repeating: "é", count: 64)
        let body =
            #"{"id":"ü-1","type":"sale","occurred_at":"2026-11-21T09:00:00Z","store_id":"\#(store)","product_id":"P1","quantity":1,"unit_price_cents":1}"#
        let events = try validator.validate(try decode(body), now: now).get()
        #expect(events.first?.storeID == store)
        #expect(events.first?.id == "ü-1")
    }

    @Test func listsEveryIssueOfEveryEventWithIndexAndID() throws {
        let body =
            "["
            + [
                Sample.saleJSON(id: "ok-1"),
                Sample.saleJSON(id: "bad-1", overriding: ["quantity": 0, "store_id": nil]),
                Sample.saleJSON(id: "ok-2"),
                Sample.saleJSON(id: "bad-2", overriding: ["type": "gift"]),
            ].joined(separator: ",") + "]"
        guard case .failure(let failure) = validator.validate(try decode(body), now: now) else {
            Issue.record("invalid events were accepted")
            return
        }
        #expect(Set(failure.issues.map(\.index)) == [1, 3])
        #expect(failure.issues.filter { $0.index == 1 }.map(\.field).sorted() == ["quantity", "store_id"])
        #expect(failure.issues.allSatisfy { $0.id == ($0.index == 1 ? "bad-1" : "bad-2") })
    }

    @Test func futureLimitFollowsConfiguration() throws {
        let json = Sample.saleJSON(id: "f", overriding: ["occurred_at": "2026-11-21T12:04:00Z"])
        #expect((try? validator.validate(try decode(json), now: now).get()) != nil)
        let strict = EventValidator(rules: ValidationRules(currency: "USD", maxFutureSkewSeconds: 60))
        #expect((try? strict.validate(try decode(json), now: now).get()) == nil)
    }

    @Test func stockWithoutKindBlamesOnlyTheKind() throws {
        let json = #"{"id":"s","type":"stock","quantity":4,"occurred_at":"2026-11-21T10:00:00Z","store_id":"S1","product_id":"P1"}"#
        guard case .failure(let failure) = validator.validate(try decode(json), now: now) else {
            Issue.record("a stock event without kind was accepted")
            return
        }
        #expect(failure.issues.map(\.field) == ["kind"])
    }
}
