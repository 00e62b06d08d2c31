/// Turns a row's stored states into the values of every measure of its view, in definition
/// order, computing derived measures from the earlier values. Views and rolling windows both
/// answer with it, so a derived measure means the same everywhere.
public struct MeasureValues: Sendable {
    public let definition: PipelineDefinition
    /// Per measure: its position among the stored states (nil for derived ones).
    private let storedPositions: [Int?]
    private let measureIndex: [String: Int]

    public init(definition: PipelineDefinition) {
        self.definition = definition
        let stored = definition.storedMeasures
        storedPositions = definition.measures.map { measure in stored.firstIndex { $0.name == measure.name } }
        measureIndex = Dictionary(uniqueKeysWithValues: definition.measures.enumerated().map { ($1.name, $0) })
    }

    public func values(of states: [MeasureState]) -> [Int64?] {
        var values: [Int64?] = []
        values.reserveCapacity(definition.measures.count)
        for (index, measure) in definition.measures.enumerated() {
            if case .derived(let expression) = measure.kind {
                values.append(expression.evaluate { name in measureIndex[name].flatMap { $0 < values.count ? values[$0] : nil } })
            } else {
                values.append(storedPositions[index].flatMap { states[$0].value })
            }
        }
        return values
    }

    /// The values of a row no event contributed to (sums 0, the others null).
    public var empty: [Int64?] {
        values(of: definition.storedMeasures.map { MeasureState.initial(for: $0.kind) })
    }
}
