#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Parses JSON bytes straight into a `JSONValue` (RFC 8259, strict): what `JSONDecoder` decoding `JSONValue` gives,
/// without its generic `Decodable` machinery, which was a twentieth of a webhook's cost. As there: a number with an
/// integral value that fits `Int` is an integer (`1.0`, `1e3`), others are `Double`; a leading byte order mark is
/// skipped. Of duplicate keys the last wins, as in JSONSerialization and in Python's `json`, which FAL's servers and
/// the Telegram clients use (JSONDecoder keeps the first): a mock must read a body as the real service does.
/// Stricter than both Foundation readers: trailing commas are refused, as FAL's (Python) servers refuse them, and so
/// are numbers beyond Double's range. `Fuzz/json` checks agreement with JSONSerialization.
enum JSONReader {
    struct Malformed: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "malformed JSON at byte \(offset): \(reason)" }
    }

    /// Deeper nesting than this is refused (a hostile body must not exhaust the stack).
    static let maxDepth = 512

    static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var reader = Cursor(bytes: raw.bindMemory(to: UInt8.self))
            if reader.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.index = 3 }
            let value = try reader.value(depth: 0)
            reader.skipWhitespace()
            guard reader.index == reader.bytes.count else { throw reader.malformed("unexpected text after the value") }
            return value
        }
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        func malformed(_ reason: String) -> Malformed { Malformed(offset: index, reason: reason) }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < JSONReader.maxDepth else { throw malformed("nested deeper than \(JSONReader.maxDepth)") }
            skipWhitespace()
            guard let byte = peek else { throw malformed("unexpected end") }
            switch byte {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw malformed("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString, _ value: JSONValue) throws -> JSONValue {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count,
                (0..<count).allSatisfy({ bytes[index + $0] == word.utf8Start[$0] })
            else { throw malformed("unexpected word") }
            index += count
            return value
        }

        mutating func object(depth: Int) throws -> JSONValue {
            index += 1
            var object: [String: JSONValue] = [:]
            skipWhitespace()
            if peek == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            while true {
                skipWhitespace()
                guard peek == UInt8(ascii: "\"") else { throw malformed("expected a key") }
                let key = try string()
                skipWhitespace()
                guard peek == UInt8(ascii: ":") else { throw malformed("expected ':'") }
                index += 1
                let member = try value(depth: depth + 1)
                object[key] = member
                skipWhitespace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    return .object(object)
                default: throw malformed("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            index += 1
            var array: [JSONValue] = []
            skipWhitespace()
            if peek == UInt8(ascii: "]") {
                index += 1
                return .array(array)
            }
            while true {
                array.append(try value(depth: depth + 1))
                skipWhitespace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"):
                    index += 1
                    return .array(array)
                default: throw malformed("expected ',' or ']'")
                }
            }
        }

        mutating func number() throws -> JSONValue {
            let start = index
            var integral = true
            if peek == UInt8(ascii: "-") { index += 1 }
            guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw malformed("expected a digit") }
            if first == UInt8(ascii: "0") {
                index += 1
            } else {
                skipDigits()
            }
            if peek == UInt8(ascii: ".") {
                integral = false
                index += 1
                guard try skipRequiredDigits() else { throw malformed("expected a digit after '.'") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                integral = false
                index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard try skipRequiredDigits() else { throw malformed("expected a digit in the exponent") }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if integral, let value = Int(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else { throw malformed("number out of range") }
            if value.rounded() == value, abs(value) < 0x1p63 { return .int(Int(value)) }
            return .double(value)
        }

        mutating func skipDigits() {
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        }

        mutating func skipRequiredDigits() throws -> Bool {
            let start = index
            skipDigits()
            return index > start
        }

        mutating func string() throws -> String {
            index += 1
            let start = index
            // Fast path: no escapes.
            while let byte = peek, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                guard byte >= 0x20 else { throw malformed("control character in a string") }
                index += 1
            }
            guard let stop = peek else { throw malformed("unterminated string") }
            var utf8 = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            if stop == UInt8(ascii: "\\") { try unescape(into: &utf8) }
            index += 1  // the closing quote
            guard let text = String(validating: utf8, as: UTF8.self) else { throw malformed("invalid UTF-8 in a string") }
            return text
        }

        /// Reads the rest of a string that has escapes, up to (not past) its closing quote.
        mutating func unescape(into utf8: inout [UInt8]) throws {
            while let byte = peek, byte != UInt8(ascii: "\"") {
                guard byte >= 0x20 else { throw malformed("control character in a string") }
                guard byte == UInt8(ascii: "\\") else {
                    utf8.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard let escaped = peek else { break }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: String(try unicodeScalar()).utf8)
                default: throw malformed("unknown escape")
                }
            }
            guard peek != nil else { throw malformed("unterminated string") }
        }

        /// `\uXXXX`, or a surrogate pair `\uD83C\uDFAD`, after the `\u`.
        mutating func unicodeScalar() throws -> Unicode.Scalar {
            let high = try hex4()
            if (0xD800...0xDBFF).contains(high) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw malformed("unpaired surrogate")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low), let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)) else {
                    throw malformed("unpaired surrogate")
                }
                return scalar
            }
            guard let scalar = Unicode.Scalar(high) else { throw malformed("unpaired surrogate") }
            return scalar
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw malformed("short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw malformed("bad \\u escape")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }
    }
}
