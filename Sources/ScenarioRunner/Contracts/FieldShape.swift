import Foundation
import MockFAL
import SupportKit

/// What a contract says about one top-level input field, in a form both MockFAL's contract files and FAL's
/// OpenAPI schemas reduce to, so the two can be compared.
public struct FieldShape: Sendable, Equatable {
    public var types: Set<String>
    public var required: Bool
    public var nullable: Bool
    public var enumValues: [JSONValue]?
    public var minimum: Double?
    public var maximum: Double?
    public var defaultValue: JSONValue?

    public init(
        types: Set<String>, required: Bool = false, nullable: Bool = false, enumValues: [JSONValue]? = nil, minimum: Double? = nil,
        maximum: Double? = nil, defaultValue: JSONValue? = nil
    ) {
        self.types = types
        self.required = required
        self.nullable = nullable
        self.enumValues = enumValues?.map(\.numberNormalized)
        self.minimum = minimum
        self.maximum = maximum
        self.defaultValue = defaultValue?.numberNormalized
    }

    init(_ spec: FieldSpec) {
        self.init(
            types: Set(spec.types), required: spec.required, nullable: spec.nullable, enumValues: spec.enumValues, minimum: spec.minimum,
            maximum: spec.maximum, defaultValue: spec.defaultValue)
    }

    /// The differences to `other` (upstream), one line each: "default 300 → 500".
    func changes(to other: FieldShape) -> [String] {
        var lines: [String] = []
        func note<T: Equatable>(_ what: String, _ mine: T?, _ theirs: T?, _ show: (T) -> String) {
            guard mine != theirs else { return }
            lines.append("\(what) \(mine.map(show) ?? "none") → \(theirs.map(show) ?? "none")")
        }
        note("type", types, other.types) { $0.sorted().joined(separator: "|") }
        note("required", required, other.required) { "\($0)" }
        note("nullable", nullable, other.nullable) { "\($0)" }
        note("enum", enumValues.map(Set.init), other.enumValues.map(Set.init)) { $0.map(\.compactDescription).sorted().joined(separator: "|") }
        note("minimum", minimum, other.minimum) { Self.number($0) }
        note("maximum", maximum, other.maximum) { Self.number($0) }
        note("default", defaultValue, other.defaultValue) { $0.compactDescription }
        return lines
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension JSONValue {
    /// 300.0 and 300 are the same JSON number.
    var numberNormalized: JSONValue {
        if case .double(let value) = self, value == value.rounded(), abs(value) < 1e15 { return .int(Int(value)) }
        return self
    }

    /// Compact JSON text, for reports.
    var compactDescription: String {
        (try? jsonData()).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}
