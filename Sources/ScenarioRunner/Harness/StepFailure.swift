import Foundation
import SupportKit

/// A step that did not hold: what was expected, what was there, field by field.
public struct StepFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var diff: [String] = []

    public var description: String { ([message] + diff.map { "    \($0)" }).joined(separator: "\n") }
}

/// Value comparison for expectations: numbers within a relative tolerance, `present`/`absent` placeholders.
enum Matching {
    static func matches(_ expected: JSONValue, _ actual: JSONValue?) -> Bool {
        switch expected {
        case .string("present"): return actual != nil && actual != .null
        case .string("absent"): return actual == nil || actual == .null
        default: break
        }
        guard let actual else { return false }
        if let e = expected.doubleValue, let a = actual.doubleValue {
            return e == a || abs(e - a) <= max(abs(e), abs(a)) * 1e-9
        }
        if case .object(let object) = expected {
            return object.allSatisfy { key, value in matches(value, actual[key]) }
        }
        return expected == actual
    }

    static func render(_ value: JSONValue?) -> String {
        guard let value else { return "absent" }
        return value.description
    }

    /// `field: expected X, actual Y` for each mismatching field.
    /// The fields that decide what happened come first in a diff; the rest in name order.
    static let decisive = ["status", "verdict", "step", "attempt", "type"]

    static func diff(_ expected: [String: JSONValue], _ actual: [String: JSONValue], prefix: String = "") -> [String] {
        let keys = expected.keys.sorted { (decisive.firstIndex(of: $0) ?? decisive.count, $0) < (decisive.firstIndex(of: $1) ?? decisive.count, $1) }
        return keys.compactMap { key in
            matches(expected[key]!, actual[key]) ? nil : "\(prefix)\(key): expected \(render(expected[key])), actual \(render(actual[key]))"
        }
    }
}

extension Dictionary where Value: Sendable {
    func mapValuesAsync<T>(_ transform: (Value) async throws -> T) async rethrows -> [Key: T] {
        var result: [Key: T] = [:]
        for (key, value) in self { result[key] = try await transform(value) }
        return result
    }
}
