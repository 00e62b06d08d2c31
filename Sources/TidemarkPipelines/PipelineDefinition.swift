/// One view, declared once in `Pipelines/<name>.yaml` and computed by both layers.
public struct PipelineDefinition: Sendable, Hashable {
    public var name: String
    public var description: String
    /// The events the view reads.
    public var source: EventFilter
    public var grain: Grain
    public var keys: [KeyField]
    /// In file order; derived measures only refer to earlier ones.
    public var measures: [MeasureDefinition]
    /// Where the definition came from, for messages.
    public var file: String

    public init(
        name: String, description: String, source: EventFilter, grain: Grain, keys: [KeyField], measures: [MeasureDefinition],
        file: String
    ) {
        self.name = name
        self.description = description
        self.source = source
        self.grain = grain
        self.keys = keys
        self.measures = measures
        self.file = file
    }

    /// The measures kept in aggregates, in order; `MeasureState` arrays follow this order.
    public var storedMeasures: [MeasureDefinition] { measures.filter(\.isStored) }

    public var hasOnHand: Bool { measures.contains { $0.kind == .onHand } }

    public func measure(named name: String) -> MeasureDefinition? { measures.first { $0.name == name } }

    /// Changes whenever what the view computes changes, so a batch computed from another
    /// definition is never merged with this one's speed layer.
    public var fingerprint: String {
        let text = ([name, source.canonical, grain.rawValue, keys.map(\.rawValue).joined(separator: ",")] + measures.map(\.canonical))
            .joined(separator: "|")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

/// The views a deployment serves, by name.
public struct PipelineCatalog: Sendable {
    public var views: [PipelineDefinition]

    public init(views: [PipelineDefinition]) {
        self.views = views.sorted { $0.name < $1.name }
    }

    public func view(named name: String) -> PipelineDefinition? { views.first { $0.name == name } }

    public var names: [String] { views.map(\.name) }
}
