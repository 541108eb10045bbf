import MockFAL
import SupportKit

/// Compares two JSON answers by shape, never by value: keys, types, nullability, and the values of the keys whose
/// values form a closed vocabulary (statuses, error types, log levels). Ids, URLs, timestamps and counts may differ.
enum ShapeDiff {
    /// Keys whose values are enums in FAL's answers.
    static let enumKeys: Set = ["status", "type", "error_type", "level", "source"]

    /// One line per difference, naming the path: "body.logs[].level: FAL INFO, MockFAL DEBUG".
    static func compare(_ recorded: JSONValue?, _ mock: JSONValue?, path: String) -> [String] {
        switch (recorded, mock) {
        case (nil, nil): return []
        case (.some, nil): return ["\(path): missing in MockFAL's answer"]
        case (nil, .some): return ["\(path): MockFAL answers it, FAL did not"]
        case (.some(let recorded), .some(let mock)): return compare(recorded, mock, path: path)
        }
    }

    private static func compare(_ recorded: JSONValue, _ mock: JSONValue, path: String) -> [String] {
        switch (recorded, mock) {
        case (.object(let theirs), .object(let ours)):
            var lines: [String] = []
            for key in Set(theirs.keys).union(ours.keys).sorted() {
                let child = "\(path).\(key)"
                switch (theirs[key], ours[key]) {
                case (.some, nil): lines.append("\(child): missing in MockFAL's answer")
                case (nil, .some): lines.append("\(child): MockFAL answers it, FAL did not")
                case (.some(let value), .some(let mine)):
                    if enumKeys.contains(key), let a = value.stringValue, let b = mine.stringValue, a != b {
                        lines.append("\(child): FAL \(a), MockFAL \(b)")
                    } else {
                        lines += compare(value, mine, path: child)
                    }
                case (nil, nil): break
                }
            }
            return lines
        case (.array(let theirs), .array(let ours)):
            // Element shapes, where both have elements (how many is a value).
            guard let first = theirs.first, let mine = ours.first else { return [] }
            return compare(first, mine, path: path + "[]")
        case (.null, .null):
            return []
        case (.null, _):
            return ["\(path): FAL null, MockFAL \(kind(mock))"]
        case (_, .null):
            return ["\(path): FAL \(kind(recorded)), MockFAL null"]
        default:
            return kind(recorded) == kind(mock) ? [] : ["\(path): FAL \(kind(recorded)), MockFAL \(kind(mock))"]
        }
    }

    /// The type as compared: integers and other numbers are one kind.
    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .int, .double: "number"
        case .null, .bool, .string, .array, .object: value.typeName
        }
    }

    /// The headers whose presence is part of FAL's contract (webhook signature headers, content type, Retry-After).
    static func contractHeaders(_ headers: [String: String]) -> Set<String> {
        Set(headers.keys.map { $0.lowercased() }.filter { $0.hasPrefix("x-fal-webhook-") || $0 == "content-type" || $0 == "retry-after" })
    }
}
