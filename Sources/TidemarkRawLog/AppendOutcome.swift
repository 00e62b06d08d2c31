import TidemarkEvents

/// Events one append stored, with their `seq`s, and the highest `seq` committed before them.
/// When a reader of the log has folded exactly up to `previous`, these events are the next
/// ones in the log: nothing else can commit in between, because appends hold the append lock.
public struct LoggedBatch: Sendable {
    public var previous: Int64
    /// Oldest first.
    public var events: [LoggedEvent]

    public init(previous: Int64, events: [LoggedEvent]) {
        self.previous = previous
        self.events = events
    }
}

/// What one `RawLogWriter.append` did.
public struct AppendOutcome: Sendable {
    /// Per position of the appended events: whether it was new (stored by this append).
    public var isNew: [Bool]
    /// The events this append stored; nil when it stored none.
    public var stored: LoggedBatch?

    public init(isNew: [Bool], stored: LoggedBatch?) {
        self.isNew = isNew
        self.stored = stored
    }
}
