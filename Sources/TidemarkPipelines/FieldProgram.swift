/// A `FieldExpression` in postfix order, held inline in a few bytes: copying it retains
/// nothing, unlike the indirect enum, whose boxes were retained and released for every
/// measure of every event, and it stays small because each plan is copied that often too.
/// Expressions of more than 8 steps or 2 literals keep the tree (`init` returns nil).
struct FieldProgram: Sendable {
    /// Step codes: 0..<16 a field (`EventField` by its index in `allCases`), then the
    /// operators, then 32 + n the n-th literal.
    private static let negate: UInt8 = 16
    private static let add: UInt8 = 17
    private static let subtract: UInt8 = 18
    private static let multiply: UInt8 = 19
    private static let firstLiteral: UInt8 = 32
    /// Held once: `allCases` builds its array on every access.
    private static let fields = EventField.allCases

    private var steps: InlineArray<8, UInt8>
    private var literals: InlineArray<2, Int64>
    private var count: UInt8
    private var literalCount: UInt8

    init?(_ expression: FieldExpression) {
        steps = InlineArray(repeating: 0)
        literals = InlineArray(repeating: 0)
        count = 0
        literalCount = 0
        guard append(expression) else { return nil }
    }

    private mutating func append(_ expression: FieldExpression) -> Bool {
        switch expression {
        case .field(let field): return push(UInt8(Self.fields.firstIndex(of: field)!))
        case .literal(let value):
            guard Int(literalCount) < literals.count else { return false }
            literals[Int(literalCount)] = value
            literalCount += 1
            return push(Self.firstLiteral + literalCount - 1)
        case .negate(let inner): return append(inner) && push(Self.negate)
        case .add(let l, let r): return append(l) && append(r) && push(Self.add)
        case .subtract(let l, let r): return append(l) && append(r) && push(Self.subtract)
        case .multiply(let l, let r): return append(l) && append(r) && push(Self.multiply)
        }
    }

    private mutating func push(_ step: UInt8) -> Bool {
        guard Int(count) < steps.count else { return false }
        steps[Int(count)] = step
        count += 1
        return true
    }

    /// The same arithmetic as `FieldExpression.evaluate` (nil propagates, overflow saturates).
    /// The stack never holds more values than there are steps.
    func evaluate(_ numbers: EventNumbers) -> Int64? {
        var stack = InlineArray<8, Int64?>(repeating: nil)
        var top = 0
        for index in 0..<Int(count) {
            let step = steps[index]
            switch step {
            case Self.negate:
                stack[top - 1] = ValueExpression.negated(stack[top - 1])
            case Self.add:
                top -= 1
                stack[top - 1] = ValueExpression.sum(stack[top - 1], stack[top])
            case Self.subtract:
                top -= 1
                stack[top - 1] = ValueExpression.difference(stack[top - 1], stack[top])
            case Self.multiply:
                top -= 1
                stack[top - 1] = ValueExpression.product(stack[top - 1], stack[top])
            case Self.firstLiteral...:
                stack[top] = literals[Int(step - Self.firstLiteral)]
                top += 1
            default:
                stack[top] = numbers.value(of: Self.fields[Int(step)])
                top += 1
            }
        }
        return stack[0]
    }
}
