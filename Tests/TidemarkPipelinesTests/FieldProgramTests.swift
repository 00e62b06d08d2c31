import Testing
import TidemarkEvents
import TidemarkTestSupport

@testable import TidemarkPipelines

/// The inline postfix programs the speed layer folds with compute exactly what the
/// expression tree computes by field name, nil and saturation included.
@Suite struct FieldProgramTests {
    /// A deterministic generator (xorshift), so a failure can be replayed.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
    }

    static let extremes: [Int64] = [0, 1, -1, 7, 1_000, Int64.max, Int64.min, Int64.max / 2]

    static func expression(depth: Int, _ random: inout Random) -> ValueExpression {
        let names = EventField.allCases.map(\.rawValue) + ["unknown_field"]
        if depth == 0 || random.next(3) == 0 {
            return random.next(3) == 0
                ? .literal(extremes[random.next(extremes.count)]) : .name(names[random.next(names.count)])
        }
        switch random.next(4) {
        case 0: return .negate(expression(depth: depth - 1, &random))
        case 1: return .add(expression(depth: depth - 1, &random), expression(depth: depth - 1, &random))
        case 2: return .subtract(expression(depth: depth - 1, &random), expression(depth: depth - 1, &random))
        default: return .multiply(expression(depth: depth - 1, &random), expression(depth: depth - 1, &random))
        }
    }

    static func event(_ random: inout Random) -> Event {
        let number = { (random: inout Random) in extremes[random.next(extremes.count)] }
        let payload: EventPayload =
            switch random.next(4) {
            case 0: .sale(SaleLine(quantity: number(&random), unitPriceCents: number(&random), category: "c"))
            case 1: .return(SaleLine(quantity: number(&random), unitPriceCents: number(&random)))
            case 2: .stock([StockKind.receipt, .count, .adjustment][random.next(3)], quantity: number(&random))
            default: .price(cents: number(&random))
            }
        return Event(id: "e", occurredAt: Sample.hour, storeID: "S1", productID: "P1", payload: payload)
    }

    @Test func programsEvaluateAsTheTreeByName() {
        var random = Random(state: 0x9E37_79B9_7F4A_7C15)
        var compiled = 0
        for _ in 0..<5_000 {
            let source = Self.expression(depth: 4, &random)
            let tree = FieldExpression(source)
            let event = Self.event(&random)
            let byName = source.evaluate { name in
                EventField(rawValue: name).flatMap { $0.value(of: event) } ?? (EventField(rawValue: name) == nil ? 0 : nil)
            }
            #expect(tree.evaluate(EventNumbers(event)) == byName, "\(source)")
            guard let program = FieldProgram(tree) else { continue }  // too long: the tree is used
            compiled += 1
            #expect(program.evaluate(EventNumbers(event)) == byName, "\(source) on \(event.payload)")
        }
        #expect(compiled > 1_000, "most generated expressions fit a program")
    }
}
