import NIOCore
import TidemarkEvents

/// Writes events as rows of PostgreSQL's `COPY ... FROM STDIN (FORMAT text)`.
enum CopyTextEncoder {
    /// Column order of every row written by `writeRow`.
    static let columns = [
        "id", "type", "occurred_at", "store_id", "product_id", "quantity", "unit_price_cents", "price_cents",
        "stock_kind", "category", "customer_id", "order_id", "channel", "currency",
    ]

    static func writeRow(_ event: Event, into buffer: inout ByteBuffer) {
        writeText(event.id, into: &buffer)
        tab(&buffer)
        buffer.writeString(event.type.rawValue)
        tab(&buffer)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Timestamp.rfc3339MaximumLength) {
            event.occurredAt.writeRFC3339(into: $0)
        }
        tab(&buffer)
        writeText(event.storeID, into: &buffer)
        tab(&buffer)
        writeText(event.productID, into: &buffer)
        switch event.payload {
        case .sale(let line), .return(let line):
            writeNumbers(line.quantity, line.unitPriceCents, nil, into: &buffer)
            writeOptional(nil, into: &buffer)
            writeOptional(line.category, into: &buffer)
            writeOptional(line.customerID, into: &buffer)
            writeOptional(line.orderID, into: &buffer)
            writeOptional(line.channel, into: &buffer)
            writeOptional(line.currency, into: &buffer)
        case .stock(let kind, let quantity):
            writeNumbers(quantity, nil, nil, into: &buffer)
            writeOptional(kind.rawValue, into: &buffer)
            writeNulls(5, into: &buffer)
        case .price(let cents):
            writeNumbers(nil, nil, cents, into: &buffer)
            writeNulls(6, into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    private static func tab(_ buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\t"))
    }

    private static func writeNumbers(_ a: Int64?, _ b: Int64?, _ c: Int64?, into buffer: inout ByteBuffer) {
        writeNumber(a, into: &buffer)
        writeNumber(b, into: &buffer)
        writeNumber(c, into: &buffer)
    }

    /// A tab, then the number's decimal digits (or `\N`), with no String in between.
    private static func writeNumber(_ number: Int64?, into buffer: inout ByteBuffer) {
        tab(&buffer)
        guard let number else {
            buffer.writeStaticString("\\N")
            return
        }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { bytes in
            var digits = 1
            var rest = number.magnitude
            while rest >= 10 {
                rest /= 10
                digits += 1
            }
            let length = digits + (number < 0 ? 1 : 0)
            var magnitude = number.magnitude
            var index = length
            repeat {
                index -= 1
                bytes[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude != 0
            if number < 0 { bytes[0] = UInt8(ascii: "-") }
            return length
        }
    }

    private static func writeOptional(_ text: String?, into buffer: inout ByteBuffer) {
        tab(&buffer)
        if let text { writeText(text, into: &buffer) } else { buffer.writeStaticString("\\N") }
    }

    private static func writeNulls(_ count: Int, into buffer: inout ByteBuffer) {
        for _ in 0..<count {
            tab(&buffer)
            buffer.writeStaticString("\\N")
        }
    }

    /// Escapes the bytes that COPY's text format gives meaning to; everything else is literal UTF-8.
    static func writeText(_ text: String, into buffer: inout ByteBuffer) {
        let needsEscaping = text.utf8.contains { $0 == UInt8(ascii: "\\") || $0 < 0x20 || $0 == 0x7F }
        guard needsEscaping else {
            buffer.writeString(text)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case 0x08: buffer.writeStaticString("\\b")
            case 0x0C: buffer.writeStaticString("\\f")
            case 0x0B: buffer.writeStaticString("\\v")
            default: buffer.writeInteger(byte)
            }
        }
    }
}
