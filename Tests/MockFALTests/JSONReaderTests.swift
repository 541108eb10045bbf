import Foundation
import SupportKit
import Testing

/// `JSONValue.parse` reads JSON itself; it must give exactly what `JSONDecoder` gives for `JSONValue`, and refuse
/// what it refuses.
@Suite("JSON reader matches JSONDecoder")
struct JSONReaderTests {
    static func decoded(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test("2,000 generated values, written compactly and with whitespace, read back the same")
    func generated() throws {
        var generator = JSONWriterTests.Generator(state: 11)
        for _ in 0..<2000 {
            let value = generator.value()
            let compact = String(decoding: try value.jsonData(), as: UTF8.self)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted]
            let pretty = String(decoding: try encoder.encode(value), as: UTF8.self)
            for text in [compact, pretty] {
                #expect(try JSONValue.parse(Data(text.utf8)) == Self.decoded(text), "\(text)")
            }
        }
    }

    static let edgeCases = [
        "0", "-0", "1.0", "1e3", "1E2", "1e-2", "0.1e1", "-1.5e+3", "12345678901234567890", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808", "1e400", "0.000001", " 7 ", "\"\\u00e9\\ud83c\\udfad\\/\\b\\f\\n\\r\\t\"",
        "\"é🎭\"", "[]", "{}", "[1,[2,[3]]]", "true", "false", "null", "\"\"",
        "\u{feff}1", "-0.0", "1.00000000000000001", "4e18", "1e19",
        // Refused by both.
        "01", "+1", ".5", "1.", "1e", "-", "{\"a\" 1}", "{a:1}", "[", "]", "", " ", "tru", "nul",
        "1 2", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\u{1}b\"", "\"unterminated", "NaN", "Infinity", "'a'",
        "\"\\u12\"", "[1 2]", "{\"a\":}",
    ]

    @Test("numbers, escapes, duplicates and malformed input: same value or same refusal", arguments: edgeCases)
    func edgeCase(_ text: String) {
        #expect((try? JSONValue.parse(Data(text.utf8))) == Self.decoded(text))
    }

    @Test("of duplicate keys the last wins, as JSONSerialization and Python read them (JSONDecoder keeps the first)")
    func duplicateKeys() throws {
        let text = "{\"status\":\"ERROR\",\"status\":\"OK\"}"
        #expect(try JSONValue.parse(Data(text.utf8)) == ["status": "OK"])
        let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        #expect(foundation == ["status": "OK"])
    }

    @Test("found by Fuzz/json: bytes with a NUL are refused (JSONSerialization reads \"3\\0\" as 3, and NULs as UTF-32)")
    func nulBytes() {
        for bytes: [UInt8] in [[0x33, 0x00, 0x03], [0x00, 0x00, 0x00, 0x31, 0x2D], [0x22, 0x61, 0x00, 0x22]] {
            #expect(throws: (any Error).self) { try JSONValue.parse(Data(bytes)) }
        }
    }

    @Test("trailing commas are refused (JSONDecoder accepts them; FAL's servers do not)")
    func trailingCommas() {
        for text in ["[1,]", "{\"a\":1,}"] {
            #expect(Self.decoded(text) != nil)
            #expect(throws: (any Error).self) { try JSONValue.parse(Data(text.utf8)) }
        }
    }

    @Test("invalid UTF-8 and very deep nesting are refused with a reason, not a crash")
    func hostile() {
        #expect(throws: (any Error).self) { try JSONValue.parse(Data([0x22, 0xFF, 0xFE, 0x22])) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try JSONValue.parse(Data(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONValue.parse(Data(fine.utf8))) != nil)
    }
}
