/// Something taken from the event that is latest by `(occurred_at, id)`: DESIGN.md breaks
/// ties of `occurred_at` by the greatest id, compared byte-wise as `text COLLATE "C"` is.
public protocol LatestByTimeAndID {
    var at: Int64 { get }
    var id: String { get }
}

extension LatestByTimeAndID {
    public func isLater(than other: Self) -> Bool {
        at != other.at ? at > other.at : other.id.utf8.lexicographicallyPrecedes(id.utf8)
    }
}

/// The value of the event that is latest by `(occurred_at, id)`.
public struct LatestValue: LatestByTimeAndID, Sendable, Hashable {
    public var at: Int64
    public var id: String
    public var value: Int64

    public init(at: Int64, id: String, value: Int64) {
        self.at = at
        self.id = id
        self.value = value
    }
}

/// A physical count: sets on-hand at `at`.
public struct StockCount: LatestByTimeAndID, Sendable, Hashable {
    public var at: Int64
    public var id: String
    public var quantity: Int64

    public init(at: Int64, id: String, quantity: Int64) {
        self.at = at
        self.id = id
        self.quantity = quantity
    }
}

/// A signed change of on-hand at `at`: sales negative, returns, receipts and adjustments as given.
public struct StockMovement: Sendable, Hashable {
    public var at: Int64
    public var delta: Int64

    public init(at: Int64, delta: Int64) {
        self.at = at
        self.delta = delta
    }
}

/// On-hand for one store and product, over some part of the log.
///
/// On hand is not a plain sum: a count resets it, and a count can arrive after movements
/// that occurred later than it. So a part keeps its latest count and the movements that
/// occurred after that count; movements at or before it can never matter again, because
/// merging only ever moves the count later. The speed layer keeps its movements one by one
/// (`movements`); the batch keeps their total (`settled`) and answers "the total after a
/// later time" from its movements table when the speed layer holds a newer count.
public struct OnHandState: Sendable, Hashable {
    public var count: StockCount?
    public var movements: [StockMovement]
    public var settled: Int64

    public init(count: StockCount? = nil, movements: [StockMovement] = [], settled: Int64 = 0) {
        self.count = count
        self.movements = movements
        self.settled = settled
    }

    public var value: Int64 {
        movements.reduce((count?.quantity ?? 0) &+ settled) { $0 &+ $1.delta }
    }

    mutating func add(_ movement: StockMovement) {
        if let count, movement.at <= count.at { return }
        movements.append(movement)
    }

    /// Only for parts that hold their movements one by one (`settled == 0`).
    mutating func add(_ newCount: StockCount) {
        if let count, !newCount.isLater(than: count) { return }
        count = newCount
        movements.removeAll { $0.at <= newCount.at }
    }

    /// The sum of this part's own movements after `time`.
    public func movementsTotal(after time: Int64?) -> Int64 {
        movements.reduce(0) { total, movement in time.map { movement.at > $0 } ?? true ? total &+ movement.delta : total }
    }

    /// Batch part ⊕ speed part for one key. `batchTotalAfterSpeedCount` is the batch's total of
    /// movements after the speed layer's count; it is only read when that count is the later one.
    public static func merge(batch: OnHandState, speed: OnHandState, batchTotalAfterSpeedCount: () -> Int64) -> OnHandState {
        if let speedCount = speed.count, batch.count.map({ speedCount.isLater(than: $0) }) ?? true {
            return OnHandState(count: speedCount, settled: batchTotalAfterSpeedCount() &+ speed.movementsTotal(after: speedCount.at))
        }
        return OnHandState(
            count: batch.count,
            settled: batch.settled &+ batch.movementsTotal(after: batch.count?.at)
                &+ speed.movementsTotal(after: batch.count?.at))
    }
}

/// The partial aggregate of one stored measure for one row; partial aggregates of disjoint
/// sets of events combine exactly.
public enum MeasureState: Sendable, Hashable {
    /// `sum` and `count`.
    case sum(Int64)
    case minimum(Int64?)
    case maximum(Int64?)
    // Indirect: the common cases stay 9 bytes, so a row of states is small and cheap to copy.
    indirect case latest(LatestValue?)
    indirect case onHand(OnHandState)

    public static func initial(for kind: MeasureKind) -> MeasureState {
        switch kind {
        case .sum, .count, .derived: .sum(0)
        case .min: .minimum(nil)
        case .max: .maximum(nil)
        case .latest: .latest(nil)
        case .onHand: .onHand(OnHandState())
        }
    }

    /// The answer's value.
    public var value: Int64? {
        switch self {
        case .sum(let v): v
        case .minimum(let v), .maximum(let v): v
        case .latest(let v): v?.value
        case .onHand(let state): state.value
        }
    }

    /// Combines the parts of two disjoint sets of rows (a roll-up). On-hand values of
    /// different keys add up; the same key's batch and speed parts merge with `OnHandState.merge`.
    public func combined(with other: MeasureState) -> MeasureState {
        switch (self, other) {
        case (.sum(let a), .sum(let b)): .sum(saturatingAdd(a, b))
        case (.minimum(let a), .minimum(let b)): .minimum(optionalPick(a, b, <))
        case (.maximum(let a), .maximum(let b)): .maximum(optionalPick(a, b, >))
        case (.latest(let a), .latest(let b)):
            .latest(a.flatMap { a in b.map { b in b.isLater(than: a) ? b : a } ?? a } ?? b)
        case (.onHand(let a), .onHand(let b)): .onHand(OnHandState(settled: saturatingAdd(a.value, b.value)))
        default: preconditionFailure("combining states of different measures")
        }
    }

    public mutating func combine(with other: MeasureState) {
        switch (self, other) {
        case (.sum(let a), .sum(let b)): self = .sum(saturatingAdd(a, b))
        case (.minimum(let a), .minimum(let b)): self = .minimum(optionalPick(a, b, <))
        case (.maximum(let a), .maximum(let b)): self = .maximum(optionalPick(a, b, >))
        default: self = combined(with: other)
        }
    }
}

@inlinable
func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? .max : .min) : sum
}

@inlinable
func optionalPick(_ a: Int64?, _ b: Int64?, _ better: (Int64, Int64) -> Bool) -> Int64? {
    guard let a else { return b }
    guard let b else { return a }
    return better(b, a) ? b : a
}
