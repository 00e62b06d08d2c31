/// Why an RFC 3339 timestamp was refused.
public struct TimestampFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`.
    ///
    /// Hand-written rather than `ISO8601DateFormatter` because the offset is mandatory, the
    /// result must be exact to the microsecond, and this runs once per ingested event.
    /// Fractions beyond microseconds are truncated (PostgreSQL keeps microseconds).
    public init(rfc3339 text: String) throws(TimestampFormatError) {
        var text = text
        let result: Int64? = text.withUTF8 { bytes in Self.parse(bytes) }
        guard let micros = result else {
            throw TimestampFormatError(Self.explain(text))
        }
        self.init(microsecondsSinceEpoch: micros)
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SS[.fraction]Z`: the fraction only when non-zero, without
    /// trailing zeros.
    public var rfc3339: String {
        String(unsafeUninitializedCapacity: Self.rfc3339MaximumLength) { buffer in
            writeRFC3339(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Bytes of the longest `rfc3339` (microseconds given).
    public static let rfc3339MaximumLength = 27

    /// Writes `rfc3339` to the start of `buffer` (at least `rfc3339MaximumLength` bytes) and
    /// returns its length. Digit by digit, with no String in between: this runs for every
    /// stored event.
    public func writeRFC3339(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let (days, microsOfDay) = microsecondsSinceEpoch.floorDividedBy(86_400_000_000)
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        let seconds = microsOfDay / 1_000_000
        var fraction = microsOfDay % 1_000_000
        var fractionDigits = 6
        while fraction != 0, fraction % 10 == 0 {
            fraction /= 10
            fractionDigits -= 1
        }
        precondition(buffer.count >= Self.rfc3339MaximumLength)
        var index = 0
        func put(_ value: Int64, _ width: Int) {
            var value = value
            for offset in stride(from: width - 1, through: 0, by: -1) {
                buffer[index + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            index += width
        }
        func put(_ character: Unicode.Scalar) {
            buffer[index] = UInt8(ascii: character)
            index += 1
        }
        put(min(max(year, 0), 9999), 4)
        put("-")
        put(month, 2)
        put("-")
        put(day, 2)
        put("T")
        put(seconds / 3600, 2)
        put(":")
        put(seconds / 60 % 60, 2)
        put(":")
        put(seconds % 60, 2)
        if fraction != 0 {
            put(".")
            put(fraction, fractionDigits)
        }
        put("Z")
        return index
    }

    /// 0001-01-01T00:00:00Z.
    private static let firstInstantSeconds: Int64 = -62_135_596_800

    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        // Minimum: 2026-11-21T10:00:00Z (20 bytes).
        guard b.count >= 20, b.count <= 64 else { return nil }
        func digits(_ start: Int, _ count: Int) -> Int64? {
            var value: Int64 = 0
            for i in start..<(start + count) {
                let d = b[i] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                value = value * 10 + Int64(d)
            }
            return value
        }
        guard let year = digits(0, 4), b[4] == UInt8(ascii: "-"),
            let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
            let day = digits(8, 2),
            b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let hour = digits(11, 2), b[13] == UInt8(ascii: ":"),
            let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return nil }
        guard year >= 1, month >= 1, month <= 12, day >= 1,
            day <= CivilCalendar.daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }

        var index = 19
        var micros: Int64 = 0
        if b[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100_000
            let start = index
            while index < b.count, b[index] &- UInt8(ascii: "0") < 10 {
                micros += Int64(b[index] &- UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start, index - start <= 9 else { return nil }
        }
        guard index < b.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch b[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = b[index] == UInt8(ascii: "+") ? 1 : -1
            guard b.count - index == 6, let oh = digits(index + 1, 2), b[index + 3] == UInt8(ascii: ":"),
                let om = digits(index + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetSeconds = sign * (oh * 3600 + om * 60)
            index += 6
        default:
            return nil
        }
        guard index == b.count else { return nil }
        let days = CivilCalendar.days(fromYear: year, month: month, day: day)
        let localSeconds = days * 86_400 + hour * 3600 + minute * 60 + second
        let utcSeconds = localSeconds - offsetSeconds
        // An offset can move 0001-01-01 into year 0, which PostgreSQL (and RFC 3339) lacks.
        guard utcSeconds >= firstInstantSeconds else { return nil }
        return utcSeconds * 1_000_000 + micros
    }

    /// A message that says which part of the text is wrong.
    private static func explain(_ text: String) -> String {
        if text.isEmpty { return "must be an RFC 3339 timestamp, got an empty string" }
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        let bytes = Array(text.utf8)
        if bytes.count >= 19,
            !bytes[19...].contains(where: { [UInt8(ascii: "Z"), UInt8(ascii: "z"), UInt8(ascii: "+"), UInt8(ascii: "-")].contains($0) })
        {
            return "must be an RFC 3339 timestamp with a time zone offset (Z or ±HH:MM), got \"\(shown)\""
        }
        return "must be an RFC 3339 timestamp like 2026-11-21T10:15:00Z or 2026-11-21T07:15:00-03:00, got \"\(shown)\""
    }
}

extension Int64 {
    /// Division that rounds toward negative infinity, so times before 1970 bucket correctly.
    func floorDividedBy(_ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var q = self / divisor
        var r = self % divisor
        if r < 0 {
            q -= 1
            r += divisor
        }
        return (q, r)
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's `days_from_civil`).
enum CivilCalendar {
    static func isLeap(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func days(fromYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = (month + 9) % 12
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
