import TidemarkEvents

/// A UTC calendar day: the archive writes one file per day of `occurred_at`.
public struct CalendarDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    static let microsecondsPerDay: Int64 = 86_400_000_000

    /// Days since 1970-01-01, as PostgreSQL's `date - DATE '1970-01-01'` counts them.
    public let daysSinceEpoch: Int64

    public init(daysSinceEpoch: Int64) {
        self.daysSinceEpoch = daysSinceEpoch
    }

    /// The day an instant falls on, rounding down so that times before 1970 land on the right day too.
    public init(containing timestamp: Timestamp) {
        let micros = timestamp.microsecondsSinceEpoch
        let quotient = micros / Self.microsecondsPerDay
        daysSinceEpoch = micros % Self.microsecondsPerDay < 0 ? quotient - 1 : quotient
    }

    /// Parses `YYYY-MM-DD`; nil for anything else, including days the calendar lacks (2026-02-30).
    public init?(text: String) {
        guard text.utf8.count == 10, let start = try? Timestamp(rfc3339: text + "T00:00:00Z") else { return nil }
        self.init(containing: start)
    }

    /// Midnight UTC, the first instant of the day.
    public var start: Timestamp { Timestamp(microsecondsSinceEpoch: daysSinceEpoch * Self.microsecondsPerDay) }

    /// `YYYY-MM-DD`.
    public var text: String { String(start.rfc3339.prefix(10)) }
    public var description: String { text }

    public func adding(days: Int64) -> CalendarDay { CalendarDay(daysSinceEpoch: daysSinceEpoch + days) }

    public static func < (lhs: CalendarDay, rhs: CalendarDay) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }
}

extension CalendarDay {
    /// Reads what `--before` takes: a day (`2026-11-01`) or a number of days before today (`30d`).
    public static func cutoff(_ text: String, today: CalendarDay) throws(ArchiveError) -> CalendarDay {
        if let day = CalendarDay(text: text) { return day }
        if text.hasSuffix("d"), let days = Int64(text.dropLast()), days >= 0, days <= 3_650_000 {
            return today.adding(days: -days)
        }
        let looksLikeADay = text.utf8.count == 10 && text.filter { $0 == "-" }.count == 2
        throw .badCutoff(text, reason: looksLikeADay ? "there is no such day in the calendar" : nil)
    }
}
