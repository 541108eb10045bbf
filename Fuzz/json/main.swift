import Foundation
@testable import SupportKit

/// JSONValue.parse against Foundation's JSONSerialization: on every input, both accept with the same value or both
/// refuse; and what parse accepts survives jsonData() and a second parse unchanged. The two documented differences
/// (JSONReader's doc comment) are allowed and nothing else: a trailing comma and a number beyond Double's range are
/// refused; and one quirk of JSONSerialization's: it
/// reads bytes with NULs as UTF-16/32 or up to the NUL, where JSON (UTF-8) has none, and drops U+FEFFs
/// from strings.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    let ours = try? JSONValue.parse(data)
    if let value = ours, (try? JSONValue.parse(value.jsonData())) != value {
        disagree(data, "\(value) does not survive jsonData() and parse")
    }
    let foundation = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    switch (ours, foundation) {
    case (nil, nil):
        break
    case (let value?, nil):
        disagree(data, "JSONValue accepts \(value), JSONSerialization refuses")
    case (nil, let object?):
        guard refusedAsDocumented(data) || hasNUL(data) else { disagree(data, "JSONSerialization accepts \(object), JSONValue refuses") }
    case (let value?, let object?):
        if FoundationJSON.hasMarkedString(value) { break }
        if let difference = FoundationJSON.difference(value, object) { disagree(data, "they read different values: \(difference)") }
    }
    return 0
}

/// Whether JSONValue refused the input for a documented reason: a `]` or `}` after a `,`, or a number beyond Double's
/// range (JSONSerialization reads some of those as Decimal, Python as infinity).
func refusedAsDocumented(_ data: Data) -> Bool {
    do {
        _ = try JSONReader.parse(data)
        return false
    } catch let error as JSONReader.Malformed {
        if error.reason == "number out of range" { return true }
        let bytes = [UInt8](data)
        guard error.offset < bytes.count, bytes[error.offset] == UInt8(ascii: "]") || bytes[error.offset] == UInt8(ascii: "}") else { return false }
        let before = bytes[..<error.offset].last { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }
        return before == UInt8(ascii: ",")
    } catch {
        return false
    }
}

/// Whether the input holds a NUL byte, which JSON in UTF-8 never does (RFC 8259 §7, §8.1): JSONValue refuses it, while
/// JSONSerialization guesses UTF-16 or UTF-32 from where NULs are, or stops reading at one.
func hasNUL(_ data: Data) -> Bool {
    data.contains(0)
}

func disagree(_ data: Data, _ what: String) -> Never {
    fatalError("\(what)\ninput: \(String(decoding: data, as: UTF8.self).debugDescription)")
}

/// Compares a JSONValue with what JSONSerialization made of the same bytes.
enum FoundationJSON {
    static func difference(_ value: JSONValue, _ object: Any) -> String? {
        switch value {
        case .null:
            return object is NSNull ? nil : "null vs \(object)"
        case .bool(let bool):
            guard let number = object as? NSNumber, isBoolean(number), number.boolValue == bool else { return "\(bool) vs \(object)" }
            return nil
        case .int(let int):
            guard let number = object as? NSNumber, !isBoolean(number), exactValue(number) == Double(int) else { return "\(int) vs \(object)" }
            return nil
        case .double(let double):
            guard let number = object as? NSNumber, !isBoolean(number), exactValue(number) == double else { return "\(double) vs \(object)" }
            return nil
        case .string(let string):
            return object as? String == string ? nil : "\(string.debugDescription) vs \(object)"
        case .array(let values):
            guard let objects = object as? [Any], objects.count == values.count else { return "\(value) vs \(object)" }
            return zip(values, objects).lazy.compactMap { difference($0, $1) }.first
        case .object(let fields):
            guard let objects = object as? [String: Any], objects.count == fields.count else { return "\(value) vs \(object)" }
            for (key, field) in fields {
                guard let other = objects[key] else { return "key \(key.debugDescription) only in JSONValue" }
                if let difference = difference(field, other) { return "at \(key.debugDescription): \(difference)" }
            }
            return nil
        }
    }

    /// Whether a string or key holds U+FEFF: JSONSerialization drops some of those (its bridge to NSString takes them
    /// for byte order marks), so its value is not comparable.
    static func hasMarkedString(_ value: JSONValue) -> Bool {
        switch value {
        case .null, .bool, .int, .double: false
        case .string(let string): marked(string)
        case .array(let values): values.contains(where: hasMarkedString)
        case .object(let fields):
            fields.contains { marked($0.key) || hasMarkedString($0.value) }
        }
    }

    static func marked(_ string: String) -> Bool {
        string.unicodeScalars.contains("\u{FEFF}")
    }

    /// A number's value as the nearest Double. JSONSerialization gives long numbers as NSDecimalNumber, whose
    /// doubleValue is not the nearest Double; its decimal digits, parsed, are.
    static func exactValue(_ number: NSNumber) -> Double {
        guard number is NSDecimalNumber, let parsed = Double(number.description) else { return number.doubleValue }
        return parsed
    }

    /// JSONSerialization gives `true`/`false` as NSNumbers of type `c`.
    static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}
