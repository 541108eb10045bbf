import Foundation
import SupportKit

/// FAL's published OpenAPI document of one endpoint (`https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=APP`),
/// reduced to the top-level input fields of the queue's POST.
public struct UpstreamSchema: Sendable {
    public var appId: String
    public var fields: [String: FieldShape]

    /// Finds `POST /APP` in `paths`, follows its JSON request body (`$ref` into `components.schemas`) and reads
    /// each property's type (`type`, `anyOf`/`oneOf` unions, `null` as nullable, `allOf` wrappers, enum refs), `enum`,
    /// `minimum`/`maximum` (also the exclusive forms), `default` and `required`.
    public init(appId: String, openAPI data: Data) throws {
        let document = try JSONDecoder().decode(JSONValue.self, from: data)
        self.appId = appId
        guard case .object(let paths)? = document["paths"] else { throw UpstreamSchemaError("\(appId): no paths in the OpenAPI document") }
        guard let operation = paths["/\(appId)"]?["post"] else { throw UpstreamSchemaError("\(appId): no POST /\(appId) in the OpenAPI document") }
        let resolver = Resolver(document: document)
        guard let body = operation["requestBody"]?["content"]?["application/json"]?["schema"], let input = resolver.resolve(body) else {
            throw UpstreamSchemaError("\(appId): POST /\(appId) has no JSON request body schema")
        }
        guard case .object(let properties)? = input["properties"] else { throw UpstreamSchemaError("\(appId): the input schema has no properties") }
        let required = Set(input["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        var fields: [String: FieldShape] = [:]
        for (name, property) in properties {
            var shape = resolver.shape(of: property)
            shape.required = required.contains(name)
            fields[name] = shape
        }
        self.fields = fields
    }

    /// `$ref` resolution and the reduction of one property schema.
    struct Resolver {
        let document: JSONValue

        func resolve(_ schema: JSONValue) -> JSONValue? {
            guard let ref = schema["$ref"]?.stringValue else { return schema }
            guard ref.hasPrefix("#/") else { return nil }
            var node: JSONValue? = document
            for part in ref.dropFirst(2).split(separator: "/") { node = node?[String(part)] }
            return node
        }

        func shape(of raw: JSONValue) -> FieldShape {
            let schema = resolve(raw) ?? raw
            var result = FieldShape(types: [])
            if let type = schema["type"]?.stringValue { result.types.insert(type) }
            for type in schema["type"]?.arrayValue?.compactMap(\.stringValue) ?? [] { result.types.insert(type) }
            for key in ["anyOf", "oneOf", "allOf"] {
                for member in schema[key]?.arrayValue ?? [] {
                    let inner = shape(of: member)
                    result.types.formUnion(inner.types)
                    result.nullable = result.nullable || inner.nullable
                    if result.enumValues == nil { result.enumValues = inner.enumValues }
                    result.minimum = result.minimum ?? inner.minimum
                    result.maximum = result.maximum ?? inner.maximum
                }
            }
            if result.types.remove("null") != nil || schema["nullable"]?.boolValue == true { result.nullable = true }
            if let values = schema["enum"]?.arrayValue { result.enumValues = values.filter { $0 != .null }.map(\.numberNormalized) }
            result.minimum = schema["minimum"]?.doubleValue ?? schema["exclusiveMinimum"]?.doubleValue ?? result.minimum
            result.maximum = schema["maximum"]?.doubleValue ?? schema["exclusiveMaximum"]?.doubleValue ?? result.maximum
            if let value = schema["default"] { result.defaultValue = value.numberNormalized }
            if result.types.isEmpty, result.enumValues?.allSatisfy({ $0.stringValue != nil }) == true { result.types = ["string"] }
            return result
        }
    }
}

/// An OpenAPI document that cannot be read as FAL's.
public struct UpstreamSchemaError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
