/// What an analyst asks of a view, checked against its definition. Bucket bounds are
/// already aligned to the view's grain: a bucket is in range when its start is in `[from, to)`.
public struct ViewQuery: Sendable, Hashable {
    public var view: String
    /// The first bucket start included, aligned; nil is unbounded.
    public var fromBucket: Int64?
    /// The first bucket start excluded, aligned; nil is unbounded.
    public var toBucket: Int64?
    /// nil when the view has no grain.
    public var grain: QueryGrain?
    /// Output keys, in the order asked for.
    public var groupBy: [KeyField]
    /// Allowed values per key; a row passes when each filtered key has one of them.
    public var filters: [KeyField: Set<String>]

    public init(
        view: String, fromBucket: Int64? = nil, toBucket: Int64? = nil, grain: QueryGrain?, groupBy: [KeyField],
        filters: [KeyField: Set<String>] = [:]
    ) {
        self.view = view
        self.fromBucket = fromBucket
        self.toBucket = toBucket
        self.grain = grain
        self.groupBy = groupBy
        self.filters = filters
    }

    /// Everything in the view at its own grain and keys.
    public static func everything(of view: PipelineDefinition) -> ViewQuery {
        ViewQuery(view: view.name, grain: view.grain == .none ? nil : .bucket(view.grain), groupBy: view.keys)
    }
}

/// Maps full-granularity rows of a view onto the rows a query answers, and combines them.
public struct RollUp: Sendable {
    public let definition: PipelineDefinition
    public let query: ViewQuery
    private let keyPositions: [Int]
    private let filterPositions: [(Int, Set<String>)]

    public init(definition: PipelineDefinition, query: ViewQuery) {
        self.definition = definition
        self.query = query
        keyPositions = query.groupBy.compactMap { definition.keys.firstIndex(of: $0) }
        filterPositions = query.filters.compactMap { key, values in definition.keys.firstIndex(of: key).map { ($0, values) } }
    }

    /// The output row a full row belongs to, or nil when the query leaves it out.
    public func project(_ key: RowKey) -> RowKey? {
        if definition.grain != .none {
            if let from = query.fromBucket, key.bucket < from { return nil }
            if let to = query.toBucket, key.bucket >= to { return nil }
        }
        for (position, values) in filterPositions where !values.contains(key.keys[position]) { return nil }
        let bucket: Int64
        switch query.grain {
        case .bucket(let grain)?: bucket = grain.bucketStart(key.bucket)
        case .all?, nil: bucket = 0
        }
        return RowKey(bucket: bucket, keys: keyPositions.map { key.keys[$0] })
    }

    /// Rolls full rows up into `into`.
    public func accumulate(_ rows: some Sequence<(key: RowKey, value: [MeasureState])>, into result: inout [RowKey: [MeasureState]]) {
        for (key, states) in rows {
            guard let target = project(key) else { continue }
            Self.combine(states, into: &result, at: target)
        }
    }

    /// Rolls up the rows of an aggregate, visiting only the buckets in range.
    public func accumulate(_ aggregate: ViewAggregate, into result: inout [RowKey: [MeasureState]]) {
        aggregate.forEachRow(from: query.fromBucket, to: query.toBucket) { bucket, keys, states in
            guard let target = project(RowKey(bucket: bucket, keys: keys)) else { return }
            Self.combine(states, into: &result, at: target)
        }
    }

    public static func combine(_ states: [MeasureState], into result: inout [RowKey: [MeasureState]], at key: RowKey) {
        if let index = result.index(forKey: key) {
            for position in states.indices { result.values[index][position].combine(with: states[position]) }
        } else {
            result[key] = states
        }
    }
}
