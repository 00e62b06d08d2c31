import TidemarkPipelines
import TidemarkSpeed

/// A rolling answer: the rows of the window and the previous one, sorted and cut.
public struct RollingAnswer: Sendable {
    public var request: RollingRequest
    public var rows: [RollingRow]
    /// Rows before `limit` cut them.
    public var totalRows: Int
}

/// Answers rolling requests from the speed layer's minute buckets alone: they hold every
/// recent event whatever the batch watermark, so no batch part is read and nothing is merged.
public struct RollingEngine: Sendable {
    public let rolling: RollingStore
    let cache = BoundedCache<RollingCacheKey, RollingAnswer>(limit: 256)

    public init(rolling: RollingStore) {
        self.rolling = rolling
    }

    /// nil while the start-up load from the raw log is still running.
    public func answer(_ request: RollingRequest) -> RollingAnswer? {
        // A copy of the view's minutes, taken under the store's lock in constant time (copy on
        // write): the roll-up below runs outside the lock, so a 24-hour window does not hold up
        // the tailer, and a fold meanwhile copies only the minutes it touches.
        guard
            let (aggregate, version) = rolling.read(
                view: request.definition.name, { aggregate, version, isLoaded in isLoaded ? (aggregate, version) : nil }) ?? nil
        else { return nil }
        // An answer is a function of the request and the store's version, so dashboards that
        // repeat a question between two folds cost a lookup.
        if let cached = cache[RollingCacheKey(request: request, version: version)] { return cached }
        let rows = aggregate.compare(request.window, groupBy: request.groupBy, filters: request.filters)
        var sorted = rows
        Self.sort(&sorted, by: request.order)
        let total = sorted.count
        if let limit = request.limit, sorted.count > limit { sorted.removeLast(sorted.count - limit) }
        let answer = RollingAnswer(request: request, rows: sorted, totalRows: total)
        cache.store(answer, for: RollingCacheKey(request: request, version: version))
        return answer
    }

    /// By the ordered column, nulls last either way, then by the keys.
    static func sort(_ rows: inout [RollingRow], by order: RollingOrder) {
        func precedes(_ x: Int64?, _ y: Int64?) -> Bool? {
            guard x != y else { return nil }
            guard let x else { return false }
            guard let y else { return true }
            return order.descending ? x > y : x < y
        }
        rows.sort { a, b in
            let decided: Bool?
            switch order.column {
            case .key(let index):
                if a.keys[index] == b.keys[index] {
                    decided = nil
                } else {
                    let ascending = a.keys[index].utf8.lexicographicallyPrecedes(b.keys[index].utf8)
                    decided = order.descending ? !ascending : ascending
                }
            case .current(let m): decided = precedes(a.current[m], b.current[m])
            case .previous(let m): decided = precedes(a.previous[m], b.previous[m])
            case .change(let m): decided = precedes(a.change[m], b.change[m])
            }
            return decided ?? a.keys.lexicographicallyPrecedes(b.keys) { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
    }
}

struct RollingCacheKey: Hashable, Sendable {
    var request: RollingRequest
    var version: UInt64
}
