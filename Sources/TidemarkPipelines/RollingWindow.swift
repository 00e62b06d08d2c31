/// A sliding window of whole minutes of event time, `[start, end)`, and the window of the same
/// length just before it, `[previousStart, start)`: what a rolling answer compares.
public struct RollingWindow: Sendable, Hashable {
    public static let minuteMicros: Int64 = 60_000_000
    /// The longest window: 24 hours.
    public static let maxMinutes = 1_440

    /// The first minute after the window (a minute start).
    public var end: Int64
    public var minutes: Int

    /// The window of `minutes` that ends with, and includes, the minute holding `time`: so an
    /// event posted a moment ago is in the window that ends now.
    public init(endingWithMinuteOf time: Int64, minutes: Int) {
        precondition((1...Self.maxMinutes).contains(minutes), "a rolling window is 1 to 1440 minutes")
        self.end = Grain.minute.bucketStart(time) + Self.minuteMicros
        self.minutes = minutes
    }

    public var length: Int64 { Int64(minutes) * Self.minuteMicros }
    public var start: Int64 { end - length }
    public var previousStart: Int64 { end - 2 * length }
}

/// One row of a rolling answer: its keys and every measure of the view (derived ones included,
/// in definition order) over the window and over the previous window.
public struct RollingRow: Sendable, Equatable {
    public var keys: [String]
    public var current: [Int64?]
    public var previous: [Int64?]
    /// `current - previous` per measure; nil when either is null, and for timestamp measures
    /// (two instants differ by a duration, not an instant).
    public var change: [Int64?]

    public init(keys: [String], current: [Int64?], previous: [Int64?], types: [MeasureValueType]) {
        self.keys = keys
        self.current = current
        self.previous = previous
        change = zip(types, zip(current, previous)).map { type, pair in
            type == .integer ? ValueExpression.difference(pair.0, pair.1) : nil
        }
    }
}
