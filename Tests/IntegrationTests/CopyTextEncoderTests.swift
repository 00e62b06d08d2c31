import NIOCore
import Testing
import TidemarkEvents
import TidemarkTestSupport

@testable import TidemarkRawLog

/// The rows `COPY ... FROM STDIN (FORMAT text)` receives, byte for byte (numbers and times are
/// written digit by digit, not through String).
@Suite struct CopyTextEncoderTests {
    private func row(_ event: Event) -> String {
        var buffer = ByteBuffer()
        CopyTextEncoder.writeRow(event, into: &buffer)
        return String(buffer: buffer)
    }

    @Test func aSaleRowHasEveryColumnInOrder() {
        let sale = Sample.sale("s-1", quantity: 3, unitPriceCents: 1_999, at: try! Timestamp(rfc3339: "2026-11-20T10:00:00.120Z"))
        #expect(row(sale) == "s-1\tsale\t2026-11-20T10:00:00.12Z\tS01\tP1\t3\t1999\t\\N\t\\N\tdairy\t\\N\t\\N\t\\N\t\\N\n")
    }

    @Test(arguments: [Int64(0), 7, -1, -40, 1_000_000, Int64.max, Int64.min])
    func numbersAreWrittenInDecimal(_ number: Int64) {
        let event = Event(id: "n", occurredAt: Sample.hour, storeID: "S", productID: "P", payload: .stock(.adjustment, quantity: number))
        #expect(row(event) == "n\tstock\t2026-11-20T10:00:00Z\tS\tP\t\(number)\t\\N\t\\N\tadjustment\t\\N\t\\N\t\\N\t\\N\t\\N\n")
    }

    @Test func aPriceChangeAndEscapedText() {
        let event = Event(id: "a\\b\tc\nd", occurredAt: Sample.hour, storeID: "S", productID: "P", payload: .price(cents: 12_345))
        #expect(row(event) == "a\\\\b\\tc\\nd\tprice\t2026-11-20T10:00:00Z\tS\tP\t\\N\t\\N\t12345\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n")
    }
}
