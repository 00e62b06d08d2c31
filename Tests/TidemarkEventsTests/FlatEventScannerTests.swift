import Foundation
import Testing
import TidemarkEvents
import TidemarkGenerator

/// The fast path must decode exactly what `JSONDecoder` decodes, and refuse what it refuses.
@Suite struct FlatEventScannerTests {
    static let fast = EventBodyDecoder(usesFastPath: true)
    static let reference = EventBodyDecoder(usesFastPath: false)

    func agree(_ body: String, _ format: EventBodyFormat = .json, comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        agree(Data(body.utf8), format, comment: comment, sourceLocation: sourceLocation)
    }

    func agree(_ body: Data, _ format: EventBodyFormat, comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = Result { try Self.reference.decode(body, format: format) }
        let actual = Result { try Self.fast.decode(body, format: format) }
        switch (expected, actual) {
        case (.success(let a), .success(let b)):
            #expect(a == b, "\(comment) \(String(decoding: body, as: UTF8.self))", sourceLocation: sourceLocation)
        case (.failure, .failure):
            break
        default:
            Issue.record(
                "disagree on \(String(decoding: body, as: UTF8.self)): JSONDecoder \(expected), fast path \(actual)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [
        #"{"a":"plain","b":-12,"c":0,"d":true,"e":false,"f":null}"#,
        #"{"s":"q\"uote \\ back \/ slash \b\f\n\r\t"}"#,
        #"{"s":"\u00e9\ud83d\ude00 \u0000"}"#, #"{"s":"é 😀 中文"}"#, #"{"s":"\x"}"#, #"{"s":"\u12"}"#,
        "{\"s\":\"tab\there\"}", "{\"s\":\"line\nbreak\"}",
        #"{"n":-0}"#, #"{"n":01}"#, #"{"n":1.0}"#, #"{"n":1e2}"#, #"{"n":1E+2}"#, #"{"n":-1.5e-3}"#, #"{"n":.5}"#,
        #"{"n":-}"#, #"{"n":9223372036854775807}"#, #"{"n":9223372036854775808}"#, #"{"n":-9223372036854775808}"#,
        #"{"n":-9223372036854775809}"#, #"{"n":123456789012345678901234567890}"#, #"{"n":2.}"#, #"{"n":1e}"#,
        #"{"a":1,"a":2}"#, #"{"a":1,}"#, #"{,}"#, #"{}"#, #"[]"#, #"[{}]"#, #"[{},]"#, #"[{} {}]"#, #"  {"a" : "b" }  "#,
        #"{"o":{"x":1}}"#, #"{"o":[1,2]}"#, #"[1]"#, #"["x"]"#, #"[{"a":1},2]"#, #"{"a":tru}"#, #"{"a":nul}"#, #"{"a":1}x"#,
        #"{"a":1"#, #"{"a"1}"#, #"{a:1}"#, #"{'a':1}"#, "", "   ", #"{"a":"unterminated}"#,
    ])
    func edgeCases(body: String) {
        agree(body)
        agree(body, .ndjson)
    }

    @Test func invalidUTF8() {
        var bytes = Array(#"{"id":"ab"}"#.utf8)
        bytes.insert(0xC3, at: 8)
        agree(Data(bytes), .json)
        agree(Data(bytes), .ndjson)
        var overlong = Array(#"{"id":"ab"}"#.utf8)
        overlong.insert(contentsOf: [0xC0, 0xAF], at: 8)
        agree(Data(overlong), .json)
    }

    /// Random events with random strings and numbers, as arrays and as NDJSON.
    @Test func randomBodies() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        print("FlatEventScannerTests.randomBodies seed: \(seed)")  // every failure message names it too
        let pieces = ["a", "Z", " ", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\u00e9", "é", "😀", "\u{7F}", "/", "-", "0", "\\ud83d\\ude00"]
        let numbers = [
            "0", "-1", "42", "1.5", "-0.25e3", "9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e2", "true", "null", "\"7\"",
        ]
        for _ in 0..<300 {
            let events = (0..<Int.random(in: 1...5, using: &random)).map { _ -> String in
                var fields: [String] = []
                for key in ["id", "type", "store_id", "note"].shuffled(using: &random) where Bool.random(using: &random) || key == "id" {
                    let text = (0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
                    fields.append("\"\(key)\":\"\(text)\"")
                }
                for key in ["quantity", "unit_price_cents"] where Bool.random(using: &random) {
                    fields.append("\"\(key)\":\(numbers.randomElement(using: &random)!)")
                }
                // Now and then a name twice, spelled alike or not ("a/b" and "a\/b" are one name).
                if Int.random(in: 0..<4, using: &random) == 0 {
                    let (first, second) = [("id", "id"), ("quantity", "quantity"), ("a/b", "a\\/b"), ("note", "note")].randomElement(using: &random)!
                    fields.append("\"\(first)\":\(numbers.randomElement(using: &random)!)")
                    fields.append("\"\(second)\":\"\(pieces.randomElement(using: &random)!)\"")
                }
                return "{" + fields.shuffled(using: &random).joined(separator: Bool.random(using: &random) ? "," : " , ") + "}"
            }
            agree("[" + events.joined(separator: ",") + "]", comment: "seed \(seed)")
            agree(events.joined(separator: "\n"), .ndjson, comment: "seed \(seed)")
        }
    }
}
