import Foundation
import Testing
import TidemarkEvents
import TidemarkTestSupport

@Suite struct EventBodyDecoderTests {
    let decoder = EventBodyDecoder()

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
