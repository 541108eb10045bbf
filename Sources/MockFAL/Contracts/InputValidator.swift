#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// One finding about a request body, shaped like an element of FAL's 422 `detail` list.
public struct ValidationProblem: Sendable, Codable, Hashable {
    public var loc: [JSONValue]
    public var msg: String
    public var type: String
    public var ctx: [String: JSONValue]?
    public var input: JSONValue?

    public init(loc: [JSONValue], msg: String, type: String, ctx: [String: JSONValue]? = nil, input: JSONValue? = nil) {
        self.loc = loc
        self.msg = msg
        self.type = type
        self.ctx = ctx
        self.input = input
    }

    /// The field path without the leading `body`, e.g. `loras.0.path`.
    public var field: String {
        loc.dropFirst().map { $0.stringValue ?? $0.intValue.map(String.init) ?? "\($0)" }.joined(separator: ".")
    }
}

/// Checks a request body against an app contract the way FAL's pydantic models do, collecting every problem.
public enum InputValidator {
    /// Returns the problems (empty when valid) and the input with defaults filled in.
    public static func validate(_ body: JSONValue, against contract: AppContract) -> (problems: [ValidationProblem], effective: JSONValue) {
        guard case .object(let object) = body else {
            let problem = ValidationProblem(
                loc: ["body"], msg: "value is not a valid dict", type: "type_error.dict", input: body)
            return ([problem], body)
        }
        var problems: [ValidationProblem] = []
        let effective = validateObject(object, fields: contract.fields, loc: ["body"], problems: &problems)
        return (problems, .object(effective))
    }

    private static func validateObject(
        _ object: [String: JSONValue], fields: [FieldSpec], loc: [JSONValue], problems: inout [ValidationProblem]
    ) -> [String: JSONValue] {
        var effective = object
        let known = Set(fields.map(\.name))
        for key in object.keys.sorted() where !known.contains(key) {
            problems.append(
                ValidationProblem(
                    loc: loc + [.string(key)], msg: "extra fields not permitted", type: "value_error.extra",
                    input: object[key]))
        }
        for field in fields {
            let fieldLoc = loc + [.string(field.name)]
            guard let value = object[field.name] else {
                if field.required {
                    problems.append(ValidationProblem(loc: fieldLoc, msg: "field required", type: "value_error.missing"))
                } else if let defaultValue = field.defaultValue {
                    effective[field.name] = defaultValue
                }
                continue
            }
            if let checked = validateValue(value, spec: field, loc: fieldLoc, problems: &problems) {
                effective[field.name] = checked
            }
        }
        return effective
    }

    /// Validates one value; returns it with nested defaults applied.
    private static func validateValue(
        _ value: JSONValue, spec: FieldSpec, loc: [JSONValue], problems: inout [ValidationProblem]
    ) -> JSONValue? {
        if value == .null {
            if spec.nullable || !spec.required && spec.defaultValue == nil { return value }
            problems.append(
                ValidationProblem(loc: loc, msg: "none is not an allowed value", type: "type_error.none.not_allowed"))
            return nil
        }
        guard let type = spec.types.first(where: { matches(value, type: $0) }) else {
            problems.append(typeProblem(for: spec.types[0], loc: loc, input: value))
            return nil
        }
        switch type {
        case "object":
            guard let nested = spec.fields, case .object(let object) = value else { return value }
            return .object(validateObject(object, fields: nested, loc: loc, problems: &problems))
        case "array":
            guard let itemSpec = spec.items, case .array(let elements) = value else { return value }
            var checked: [JSONValue] = []
            for (index, element) in elements.enumerated() {
                let item = validateValue(element, spec: itemSpec, loc: loc + [.int(index)], problems: &problems)
                checked.append(item ?? element)
            }
            return .array(checked)
        default:
            break
        }
        if let allowed = spec.enumValues, !allowed.contains(where: { equalForEnum($0, value) }) {
            let expected = allowed.map { $0.stringValue.map { "'\($0)'" } ?? "\($0)" }.joined(separator: ", ")
            problems.append(
                ValidationProblem(
                    loc: loc, msg: "Input should be one of: \(expected)", type: "one_of",
                    ctx: ["expected": .array(allowed)], input: value))
            return nil
        }
        if let number = value.doubleValue {
            if let minimum = spec.minimum, number < minimum {
                problems.append(
                    ValidationProblem(
                        loc: loc, msg: "Input should be greater than or equal to \(format(minimum))",
                        type: "greater_than_equal", ctx: ["ge": jsonNumber(minimum)], input: value))
                return nil
            }
            if let maximum = spec.maximum, number > maximum {
                problems.append(
                    ValidationProblem(
                        loc: loc, msg: "Input should be less than or equal to \(format(maximum))",
                        type: "less_than_equal", ctx: ["le": jsonNumber(maximum)], input: value))
                return nil
            }
        }
        return value
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("string", .string), ("boolean", .bool), ("array", .array), ("object", .object): true
        case ("integer", _): value.intValue != nil
        case ("number", .int), ("number", .double): true
        default: false
        }
    }

    private static func equalForEnum(_ allowed: JSONValue, _ value: JSONValue) -> Bool {
        if let a = allowed.doubleValue, let b = value.doubleValue { return a == b }
        return allowed == value
    }

    private static func typeProblem(for type: String, loc: [JSONValue], input: JSONValue) -> ValidationProblem {
        let (msg, code): (String, String) =
            switch type {
            case "string": ("str type expected", "type_error.str")
            case "integer": ("value is not a valid integer", "type_error.integer")
            case "number": ("value is not a valid float", "type_error.float")
            case "boolean": ("value could not be parsed to a boolean", "type_error.bool")
            case "array": ("value is not a valid list", "type_error.list")
            default: ("value is not a valid dict", "type_error.dict")
            }
        return ValidationProblem(loc: loc, msg: msg, type: code, input: input)
    }

    private static func jsonNumber(_ value: Double) -> JSONValue {
        value.rounded() == value && abs(value) < 1e15 ? .int(Int(value)) : .double(value)
    }

    private static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
