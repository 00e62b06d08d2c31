import Foundation
import Testing
import TidemarkEvents
import TidemarkTestSupport

@Suite struct EventBodyDecoderTests {
    let decoder = EventBodyDecoder()

    /// A name given twice keeps its first value and is noted, on the fast path and where
    /// `JSONDecoder` reads the body (a nested value or a `\u` escape sends it there); names
    /// inside nested values are not the event's.
    @Test(arguments: [true, false])
    func repeatedNamesAreNotedWhicheverDecoderReadsTheBody(fastPath: Bool) throws {
        let decoder = EventBodyDecoder(usesFastPath: fastPath)
        let plain = #"{"id":"a","quantity":1,"note":"x","quantity":100,"note":"y","id":"b"}"#
        let nested = #"{"id":"c","meta":{"id":"x","id":"y"},"list":[{"k":1,"k":2}],"id":"d"}"#
        let escaped = #"{"id":"e","category":"caf\u00e9","category":"tea"}"#
        for body in [plain, nested, escaped] {
            for (format, text) in [(EventBodyFormat.json, body), (.json, "[\(body)]"), (.ndjson, body + "\n")] {
                let events = try decoder.decode(Data(text.utf8), format: format)
                #expect(events.count == 1, "\(text)")
                #expect(events.first?.fields["id"] == .string(body == plain ? "a" : body == nested ? "c" : "e"), "first value kept: \(text)")
            }
        }
        #expect(try decoder.decode(Data(plain.utf8), format: .json).first?.repeatedFields == ["quantity", "note", "id"])
        #expect(try decoder.decode(Data(nested.utf8), format: .json).first?.repeatedFields == ["id"])
        #expect(try decoder.decode(Data(escaped.utf8), format: .ndjson).first?.repeatedFields == ["category"])

        // Names compare as decoded, whatever their spelling; a string value ending in an
        // escaped backslash does not swallow the next name.
        let spelled = #"{"quantity":1,"quantit\u0079":100,"a/b":"x\\","a\/b":"y","k":"\"","k":2}"#
        #expect(try decoder.decode(Data(spelled.utf8), format: .json).first?.repeatedFields == ["quantity", "a/b", "k"])
        #expect(try decoder.decode(Data(spelled.utf8), format: .json).first?.fields["quantity"] == .integer(1))

        // In an array, each element has its own names; an element that is not an object has none.
        let array = "[\(plain), 7, \(nested), [{\"k\":1,\"k\":2}], {\"id\":\"f\"}, \(escaped)]"
        let events = try decoder.decode(Data(array.utf8), format: .json)
        #expect(events.map(\.repeatedFields) == [["quantity", "note", "id"], [], ["id"], [], [], ["category"]])
        // Text that is no event at all has no names to note.
        for (text, format) in [("7", EventBodyFormat.json), ("[{\"k\":1,\"k\":2}]\n", .ndjson)] {
            #expect(try decoder.decode(Data(text.utf8), format: format).map(\.repeatedFields) == [[]], "\(text)")
        }
    }

    @Test func ndjsonSkipsBlankLinesAndAcceptsCRLF() throws {
        let body = Sample.saleJSON(id: "a") + "\r\n\n  \n" + Sample.saleJSON(id: "b") + "\r\n" + Sample.saleJSON(id: "c")
        let events = try decoder.decode(Data(body.utf8), format: .ndjson)
        #expect(events.map { $0.fields["id"] } == [.string("a"), .string("b"), .string("c")])
    }

    @Test func ndjsonNamesTheFirstBadLine() {
        let body = Sample.ndjson([Sample.saleJSON(id: "a"), "", Sample.saleJSON(id: "b"), "{\"id\": \"c\",", Sample.saleJSON(id: "d")])
        #expect(throws: MalformedBody.self) { try decoder.decode(Data(body.utf8), format: .ndjson) }
        do {
            _ = try decoder.decode(Data(body.utf8), format: .ndjson)
        } catch {
            #expect(error.line == 4)
            #expect(error.message.contains("invalid JSON"))
        }
    }

    @Test func ndjsonLineHoldingTwoObjectsIsMalformed() {
        let body = Sample.saleJSON(id: "a") + "\n" + Sample.saleJSON(id: "b") + "," + Sample.saleJSON(id: "c") + "\n"
        do {
            _ = try decoder.decode(Data(body.utf8), format: .ndjson)
            Issue.record("two objects on one line were accepted")
        } catch {
            #expect(error.line == 2)
        }
    }

    @Test func jsonErrorsGiveTheByteOffset() {
        do {
            _ = try decoder.decode(Data("[{\"id\": 1x}]".utf8), format: .json)
            Issue.record("malformed JSON was accepted")
        } catch {
            #expect(error.message.contains("character"), "\(error.message)")
        }
    }

    @Test(arguments: ["", "   ", "nul", "{\"a\":", "[1 2]", String(repeating: "[", count: 10_000)])
    func malformedJSONIsRefused(body: String) {
        #expect(throws: MalformedBody.self) { try decoder.decode(Data(body.utf8), format: .json) }
    }

    @Test func invalidUTF8IsRefused() {
        var bytes = Array(Sample.saleJSON(id: "a").utf8)
        bytes.insert(0xFF, at: 10)
        #expect(throws: MalformedBody.self) { try decoder.decode(Data(bytes), format: .json) }
    }

    @Test func fieldsKeepTheirJSONKinds() throws {
        let events = try decoder.decode(
            Data(#"{"s":"x","i":-3,"d":1.5,"b":true,"n":null,"o":{},"a":[],"big":99999999999999999999}"#.utf8), format: .json)
        #expect(events.count == 1)
        #expect(
            events[0].fields == [
                "s": .string("x"), "i": .integer(-3), "d": .otherNumber, "b": .bool(true), "n": .null, "o": .composite, "a": .composite,
                "big": .otherNumber,
            ])
    }

    @Test func anObjectSplitOverLinesIsMalformedNDJSON() {
        // Three lines that would make three objects if glued together with commas.
        let body = #"{"id":"a","type":"sale""# + "\n" + #""store_id":"S01"}"# + "\n" + #"{"id":"b"},{"id":"c"}"# + "\n"
        do {
            _ = try decoder.decode(Data(body.utf8), format: .ndjson)
            Issue.record("accepted an object split over lines")
        } catch {
            #expect(error.line == 1)
        }
    }
}
