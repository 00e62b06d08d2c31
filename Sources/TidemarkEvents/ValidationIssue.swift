/// One thing wrong with one posted event.
public struct ValidationIssue: Sendable, Hashable, Codable {
    /// Position of the event in the request, from 0.
    public var index: Int
    /// The event's `id` when it had a usable one.
    public var id: String?
    /// The field at fault, or `""` for the event as a whole.
    public var field: String
    public var message: String

    public init(index: Int, id: String?, field: String, message: String) {
        self.index = index
        self.id = id
        self.field = field
        self.message = message
    }
}
