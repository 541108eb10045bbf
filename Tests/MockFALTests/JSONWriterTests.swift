import Foundation
import SupportKit
import Testing

/// `JSONValue.jsonData()` writes JSON itself; it must produce exactly what `JSONEncoder` (sorted keys, unescaped
/// slashes) does, since journals, diffs and golden bodies compare bytes.
@Suite("JSON writer matches JSONEncoder byte for byte")
struct JSONWriterTests {
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }

        mutating func string() -> String {
            let pieces = ["a", "Z", "_", "/", "\"", "\\", "\n", "\t", "\u{1}", "\u{1f}", "é", "ж", "🎭", " ", "0", "\r", "\u{8}", "\u{c}"]
            return (0..<next(6)).map { _ in pieces[next(pieces.count)] }.joined()
        }

        mutating func value(depth: Int = 0) -> JSONValue {
            switch next(depth > 2 ? 5 : 7) {
            case 0: return .null
            case 1: return .bool(next(2) == 0)
            case 2: return .int(next(2_000_001) - 1_000_000)
            case 3:
                let samples = [0.0002, 1e-05, 150.0, -3.5, 0.1, 1e20, 123456.789, 2.5e-8, 1e15, 4.0e14, -0.0]
                return .double(samples[next(samples.count)])
            case 4: return .string(string())
            case 5: return .array((0..<next(4)).map { _ in value(depth: depth + 1) })
            default:
                var fields: [String: JSONValue] = [:]
                for _ in 0..<next(5) { fields[string()] = value(depth: depth + 1) }
                return .object(fields)
            }
        }
    }

    @Test("2,000 generated values")
    func matches() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var generator = Generator(state: 42)
        for _ in 0..<2_000 {
            let value = generator.value()
            let expected = String(decoding: try encoder.encode(value), as: UTF8.self)
            let actual = String(decoding: try value.jsonData(), as: UTF8.self)
            #expect(actual == expected)
            if actual != expected { return }
        }
    }
}
