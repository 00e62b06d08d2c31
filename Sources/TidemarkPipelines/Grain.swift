import TidemarkEvents

/// The width of a view's time buckets. Buckets are UTC, `[start, start + width)`, by `occurred_at`.
public enum Grain: String, Sendable, Hashable, CaseIterable {
    case minute
    case hour
    case day
    /// No time bucket: one row per key over all time.
    case none

    /// Bucket width in microseconds; nil for `none`.
    public var microseconds: Int64? {
        switch self {
        case .minute: 60_000_000
        case .hour: 3_600_000_000
        case .day: 86_400_000_000
        case .none: nil
        }
    }

    /// The start of the bucket holding `time` (floor, also before 1970).
    public func bucketStart(_ time: Int64) -> Int64 {
        guard let width = microseconds else { return 0 }
        let remainder = ((time % width) + width) % width
        return time - remainder
    }

    /// The first bucket start at or after `time`.
    public func bucketStartAtOrAfter(_ time: Int64) -> Int64 {
        let start = bucketStart(time)
        guard start < time, let width = microseconds else { return start }
        return start + width
    }

    /// The PostgreSQL `date_trunc` field name.
    package var sqlField: String? { self == .none ? nil : rawValue }
}

/// The time resolution a query asks for: the view's grain or a coarser one, or `all` (no bucket).
public enum QueryGrain: Sendable, Hashable {
    case bucket(Grain)
    case all

    public init?(name: String) {
        if name == "all" {
            self = .all
        } else if let grain = Grain(rawValue: name), grain != .none {
            self = .bucket(grain)
        } else {
            return nil
        }
    }

    public var name: String {
        switch self {
        case .bucket(let grain): grain.rawValue
        case .all: "all"
        }
    }

    /// The query grains a view of `grain` can answer: its own and every coarser one.
    public static func allowed(for grain: Grain) -> [QueryGrain] {
        guard let width = grain.microseconds else { return [] }
        let coarser = [Grain.minute, .hour, .day].filter { ($0.microseconds ?? 0) >= width }.map { QueryGrain.bucket($0) }
        return coarser + [.all]
    }
}
