#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// One FAL app's published input contract, loaded from a data file in `Contracts/apps/`.
public struct AppContract: Sendable, Codable {
    public var appId: String
    public var title: String
    public var source: String
    public var deprecated: Bool?
    public var deprecationMessage: String?
    /// What one job costs at FAL, in US dollars: an estimate for staging runs' cost plans (see fal.ai/pricing), not a quote.
    public var priceEstimateUSD: Double?
    /// Training apps name the field that holds the zip URL and what the zip must contain.
    public var archive: ArchiveRule?
    public var progress: ProgressRule
    public var result: ResultRule
    public var fields: [FieldSpec]

    enum CodingKeys: String, CodingKey {
        case appId = "app_id", title, source, deprecated, deprecationMessage = "deprecation_message"
        case priceEstimateUSD = "price_estimate_usd", archive, progress, result, fields
    }
}

/// What a training archive must hold.
public struct ArchiveRule: Sendable, Codable {
    public var field: String
    public var minImages: Int
    public var maxImages: Int?
    public var formats: [String]

    enum CodingKeys: String, CodingKey {
        case field, minImages = "min_images", maxImages = "max_images", formats
    }
}

/// How many simulated steps a job runs: the value of an input field (after defaults) or a fixed count.
public struct ProgressRule: Sendable, Codable {
    public var stepsField: String?
    public var fixedSteps: Int?

    enum CodingKeys: String, CodingKey {
        case stepsField = "steps_field", fixedSteps = "fixed_steps"
    }
}

/// The shape of a successful output.
public struct ResultRule: Sendable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// `{"diffusers_lora_file": File, "config_file": File}`
        case lora
        /// `{"finetune_id": …}`
        case finetune
        /// `{"images": [...], "seed", "prompt", "has_nsfw_concepts", "timings"}`
        case images
    }

    public var kind: Kind
    public var countField: String?

    enum CodingKeys: String, CodingKey {
        case kind, countField = "count_field"
    }
}

/// One input field: its JSON type(s), requiredness, enum, range, default and nested fields.
public final class FieldSpec: Sendable, Codable {
    public let name: String
    public let types: [String]
    public let required: Bool
    public let nullable: Bool
    public let enumValues: [JSONValue]?
    public let minimum: Double?
    public let maximum: Double?
    public let defaultValue: JSONValue?
    public let description: String?
    /// Fields of an object value.
    public let fields: [FieldSpec]?
    /// The spec of each element of an array value.
    public let items: FieldSpec?

    enum CodingKeys: String, CodingKey {
        case name, type, required, nullable, enumValues = "enum", minimum, maximum, defaultValue = "default"
        case description, fields, items
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        if let many = try? c.decode([String].self, forKey: .type) {
            types = many
        } else {
            types = [try c.decode(String.self, forKey: .type)]
        }
        let known: Set = ["string", "integer", "number", "boolean", "array", "object"]
        if let unknown = types.first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c, debugDescription: "unknown field type '\(unknown)' (known: \(known.sorted()))")
        }
        required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? false
        nullable = try c.decodeIfPresent(Bool.self, forKey: .nullable) ?? false
        enumValues = try c.decodeIfPresent([JSONValue].self, forKey: .enumValues)
        minimum = try c.decodeIfPresent(Double.self, forKey: .minimum)
        maximum = try c.decodeIfPresent(Double.self, forKey: .maximum)
        defaultValue = try c.decodeIfPresent(JSONValue.self, forKey: .defaultValue)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        fields = try c.decodeIfPresent([FieldSpec].self, forKey: .fields)
        items = try c.decodeIfPresent(FieldSpec.self, forKey: .items)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        if types.count == 1 { try c.encode(types[0], forKey: .type) } else { try c.encode(types, forKey: .type) }
        if required { try c.encode(true, forKey: .required) }
        if nullable { try c.encode(true, forKey: .nullable) }
        try c.encodeIfPresent(enumValues, forKey: .enumValues)
        try c.encodeIfPresent(minimum, forKey: .minimum)
        try c.encodeIfPresent(maximum, forKey: .maximum)
        try c.encodeIfPresent(defaultValue, forKey: .defaultValue)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encodeIfPresent(fields, forKey: .fields)
        try c.encodeIfPresent(items, forKey: .items)
    }

}

/// The contracts MockFAL knows, keyed by app id.
public struct ContractCatalog: Sendable {
    public private(set) var contracts: [String: AppContract]

    public init(_ contracts: [AppContract]) {
        self.contracts = Dictionary(contracts.map { ($0.appId, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The contract files shipped with MockFAL (`Contracts/apps/`, embedded at build time).
    public static func bundled() throws -> ContractCatalog {
        ContractCatalog(try embeddedContractFiles.map { try decode(Data($0.json.utf8), file: $0.name) })
    }

    /// Every `*.json` contract in a folder.
    public static func load(from folder: String) throws -> ContractCatalog {
        var isFolder = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder else {
            throw ContractError.missingFolder(folder)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }.sorted()
        return ContractCatalog(
            try files.map { try decode(Data(contentsOf: URL(filePath: folder).appending(path: $0)), file: $0) })
    }

    private static func decode(_ json: Data, file: String) throws -> AppContract {
        do {
            return try JSONDecoder().decode(AppContract.self, from: json)
        } catch {
            throw ContractError.invalidFile(file, String(describing: error))
        }
    }

    /// The contract for an app id; FAL apps may be called with a sub-path (`owner/app/sub/path`).
    public func contract(forPath path: String) -> AppContract? {
        var parts = path.split(separator: "/").map(String.init)
        while parts.count >= 2 {
            if let contract = contracts[parts.joined(separator: "/")] { return contract }
            parts.removeLast()
        }
        return nil
    }
}

public enum ContractError: Error, CustomStringConvertible {
    case missingFolder(String)
    case invalidFile(String, String)

    public var description: String {
        switch self {
        case .missingFolder(let name): "contract folder not found: \(name)"
        case .invalidFile(let file, let reason): "contract file \(file) is invalid: \(reason)"
        }
    }
}
