import Testing
import TidemarkEvents

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0), "1970-01-01T00:00:00Z"),
        ("2026-11-21T10:15:30Z", Int64(1_795_256_130_000_000), "2026-11-21T10:15:30Z"),
        ("2026-11-21T07:15:30-03:00", Int64(1_795_256_130_000_000), "2026-11-21T10:15:30Z"),
        ("2026-11-21t10:15:30.5z", Int64(1_795_256_130_500_000), "2026-11-21T10:15:30.5Z"),
        ("2026-11-21T10:15:30.123456789+00:00", Int64(1_795_256_130_123_456), "2026-11-21T10:15:30.123456Z"),
        ("2024-02-29T23:59:59+14:00", Int64(1_709_200_799_000_000), "2024-02-29T09:59:59Z"),
        ("1969-12-31T23:59:59.999999Z", Int64(-1), "1969-12-31T23:59:59.999999Z"),
    ])
    func parsesAndFormats(text: String, micros: Int64, formatted: String) throws {
        let time = try Timestamp(rfc3339: text)
        #expect(time.microsecondsSinceEpoch == micros)
        #expect(time.rfc3339 == formatted)
        #expect(try Timestamp(rfc3339: formatted) == time)
    }

    @Test(arguments: [
        "", "2026-11-21", "2026-11-21T10:15:30", "2026-11-21 10:15:30Z", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-11-21T24:00:00Z", "2026-11-21T10:60:00Z", "2026-11-21T10:15:60Z", "2026-11-21T10:15:30.Z",
        "2026-11-21T10:15:30+0300", "2026-11-21T10:15:30+24:00", "2026-11-21T10:15:30Zjunk", "２026-11-21T10:15:30Z",
        "2026-11-21T10:15:30.1234567890Z", "0001-01-01T00:30:00+01:00", "0000-06-01T00:00:00Z",
    ])
    func refusesMalformed(text: String) {
        #expect(throws: TimestampFormatError.self) { try Timestamp(rfc3339: text) }
    }

    @Test func roundTripsEveryDayOfFourHundredYears() throws {
        // Walks a full Gregorian cycle so leap-year rules are covered both ways.
        var day = try Timestamp(rfc3339: "2000-01-01T00:00:00Z")
        for _ in 0..<(146_097) {
            #expect(try Timestamp(rfc3339: day.rfc3339) == day)
            day = day.adding(seconds: 86_400)
        }
        #expect(day.rfc3339 == "2400-01-01T00:00:00Z")
    }
}
