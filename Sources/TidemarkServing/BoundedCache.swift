import Synchronization
import TidemarkPipelines

/// A small cache of answers whose keys name everything the value depends on (generation,
/// watermark, speed-state version, query), so an entry is never stale, only unused. Bounded
/// by clearing when full: simpler than LRU, and a dashboard refills it in one refresh.
final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[Key: Value]>([:])
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    subscript(key: Key) -> Value? {
        entries.withLock { $0[key] }
    }

    func store(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
    }
}

/// The speed layer's rows rolled up for one query.
struct SpeedPart: Sendable {
    var rows: [RowKey: [MeasureState]]
    var events: Int
    var version: UInt64
}

struct SpeedPartKey: Hashable, Sendable {
    var query: ViewQuery
    var watermark: Int64
    var version: UInt64
}

struct AnswerKey: Hashable, Sendable {
    var query: ViewQuery
    var order: AnswerOrder
    var generation: Int64?
    var watermark: Int64
    var version: UInt64
}
