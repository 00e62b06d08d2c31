/// A problem in a pipeline file, located at `file:line:column`.
public struct PipelineError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Every problem found in a pipelines folder, so one start shows them all.
public struct PipelineErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [PipelineError]

    public var description: String {
        "invalid pipeline definitions:\n" + errors.map { "  " + $0.description }.joined(separator: "\n")
    }
}
