import Synchronization
import TidemarkPipelines

/// Rolled-up speed rows by query, valid for one version of a view's speed state.
final class SpeedPartCache: Sendable {
    struct Part: Sendable {
        var rows: [RowKey: [MeasureState]]
        var events: Int
        var version: UInt64
    }

    struct Key: Hashable {
        var query: ViewQuery
        var watermark: Int64
    }

    private let entries = Mutex<[Key: Part]>([:])
    private let limit: Int

    init(limit: Int = 128) {
        self.limit = limit
    }

    func part(for query: ViewQuery, watermark: Int64, version: UInt64) -> Part? {
        entries.withLock { entries in
            guard let part = entries[Key(query: query, watermark: watermark)], part.version == version else { return nil }
            return part
        }
    }

    func store(_ part: Part, for query: ViewQuery, watermark: Int64) {
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[Key(query: query, watermark: watermark)] = part
        }
    }
}

/// Whole answers, valid while the batch and the view's speed state are unchanged.
final class AnswerCache: Sendable {
    struct Key: Hashable {
        var query: ViewQuery
        var order: AnswerOrder
        var generation: Int64?
        var watermark: Int64
        var version: UInt64
    }

    private let entries = Mutex<[Key: ViewAnswer]>([:])
    private let limit: Int

    init(limit: Int = 256) {
        self.limit = limit
    }

    func answer(for key: Key) -> ViewAnswer? {
        entries.withLock { $0[key] }
    }

    func store(_ answer: ViewAnswer, for key: Key) {
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = answer
        }
    }
}
