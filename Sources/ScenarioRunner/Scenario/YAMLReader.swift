import Foundation
import SupportKit
import Yams

/// A problem in a scenario file, with its place and what would have been accepted.
public struct ScenarioFileError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(message)" }
}

/// Typed reads of YAML nodes that fail with the file, the line and the accepted keys or values.
struct YAMLReader {
    let file: String

    func fail(_ node: Node?, _ message: String) -> ScenarioFileError {
        ScenarioFileError(file: file, line: node?.mark?.line ?? 1, message: message)
    }

    /// The mapping's entries; unknown keys are an error listing the accepted ones, missing required keys too.
    func mapping(_ node: Node, _ context: String, allowed: [String], required: [String] = []) throws -> [String: Node] {
        guard let mapping = node.mapping else { throw fail(node, "\(context) must be a mapping with keys: \(allowed.joined(separator: ", "))") }
        var entries: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw fail(key, "\(context): keys must be text") }
            guard allowed.contains(name) else {
                throw fail(key, "unknown key '\(name)' in \(context); accepted keys: \(allowed.joined(separator: ", "))")
            }
            entries[name] = value
        }
        for name in required where entries[name] == nil {
            throw fail(node, "\(context) is missing '\(name)'")
        }
        return entries
    }

    func string(_ node: Node, _ context: String) throws -> String {
        guard let scalar = node.scalar else { throw fail(node, "\(context) must be text") }
        return scalar.string
    }

    func int(_ node: Node, _ context: String, range: ClosedRange<Int>? = nil) throws -> Int {
        guard let value = node.int else { throw fail(node, "\(context) must be a whole number, not '\(node.scalar?.string ?? "…")'") }
        if let range, !range.contains(value) { throw fail(node, "\(context) must be within \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    func bool(_ node: Node, _ context: String) throws -> Bool {
        guard let value = node.bool else { throw fail(node, "\(context) must be true or false") }
        return value
    }

    func duration(_ node: Node, _ context: String) throws -> Duration {
        guard let text = node.scalar?.string, let value = Duration(parsing: text) else {
            throw fail(node, "\(context) must be a duration like 500ms, 1s, 15m or 2h")
        }
        return value
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ context: String, _ type: T.Type) throws -> T where T.RawValue == String {
        let text = try string(node, context)
        guard let value = T(rawValue: text) else {
            throw fail(node, "\(context) must be one of: \(T.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
        }
        return value
    }

    func strings(_ node: Node, _ context: String) throws -> [String] {
        if node.scalar != nil { return [try string(node, context)] }
        guard let sequence = node.sequence else { throw fail(node, "\(context) must be a list") }
        return try sequence.map { try string($0, context) }
    }

    /// Any YAML value as JSON (plain scalars resolve to null, booleans and numbers; quoted ones stay text).
    func json(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { return .string(scalar.string) }
            if node.null != nil { return .null }
            if let value = node.bool { return .bool(value) }
            if let value = node.int { return .int(value) }
            if let value = node.float { return .double(value) }
            return .string(scalar.string)
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping { object[key.string ?? ""] = json(value) }
            return .object(object)
        case .sequence(let sequence):
            return .array(sequence.map(json))
        case .alias:
            return .null
        }
    }
}
