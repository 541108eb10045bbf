import Foundation
import Hummingbird
import HummingbirdTesting
import MockFAL
import ScenarioRunner
import SupportKit
import Testing

let upstreamFolder = URL(fileURLWithPath: scenarioFolder).deletingLastPathComponent().appendingPathComponent("contracts/upstream")

@Suite("Contract drift: MockFAL's contracts against FAL's OpenAPI snapshot")
struct ContractDriftTests {
    func document(_ app: String) throws -> [String: Any] {
        let data = try Data(contentsOf: ContractDrift.snapshotFile(for: app, in: upstreamFolder))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    @Test("the committed snapshot matches every contract MockFAL ships")
    func committedSnapshotIsClean() throws {
        let drifts = ContractDrift.check(contracts: try .bundled(), upstream: upstreamFolder)
        #expect(drifts.count == 5)
        let clean = drifts.allSatisfy { $0.isClean }
        #expect(clean, "\(ContractDrift.report(drifts))")
    }

    @Test("added, removed and changed fields are reported per app")
    func drift() throws {
        let app = "fal-ai/flux-pro-trainer"
        var doc = try document(app)
        var components = doc["components"] as! [String: Any]
        var schemas = components["schemas"] as! [String: Any]
        var input = schemas["FluxFinetuneInput"] as! [String: Any]
        var properties = input["properties"] as! [String: Any]
        properties["steps"] = ["type": "integer", "default": 1000]
        properties["captioning"] = nil
        properties["iterations"] = ["type": "integer", "default": 500, "minimum": 100, "maximum": 2000]
        properties["lora_rank"] = ["anyOf": [["type": "integer", "enum": [16, 32, 64]], ["type": "null"]], "default": 32]
        input["properties"] = properties
        input["required"] = ["data_url"]
        schemas["FluxFinetuneInput"] = input
        components["schemas"] = schemas
        doc["components"] = components
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drift-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try JSONSerialization.data(withJSONObject: doc).write(to: ContractDrift.snapshotFile(for: app, in: folder))

        let drifts = ContractDrift.check(contracts: try .bundled(), upstream: folder)
        let pro = try #require(drifts.first { $0.appId == app })
        #expect(pro.added == ["steps"])
        #expect(pro.removed == ["captioning"])
        #expect(pro.changed["iterations"] == ["maximum 1000 → 2000", "default 300 → 500"])
        #expect(pro.changed["finetune_comment"] == ["required true → false"])
        #expect(pro.changed["lora_rank"] == ["nullable false → true", "enum 16|32 → 16|32|64"])
        #expect(pro.changed.count == 3)
        #expect(drifts.filter { $0.appId != app }.allSatisfy { $0.problem != nil }, "the other apps have no snapshot in that folder")
        let report = ContractDrift.report(drifts)
        #expect(report.contains("DRIFT   fal-ai/flux-pro-trainer"))
        #expect(report.contains("  + steps (published by FAL, missing from the contract)"))
        #expect(report.hasSuffix("5 of 5 apps drifted"))
    }

    @Test("FAL's schema forms: $ref input, anyOf with null, allOf enum refs, exclusive bounds")
    func schemaForms() throws {
        let json = """
            {"paths": {"/owner/app": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/In"}}}}}}},
             "components": {"schemas": {
               "Mode": {"enum": ["a", "b"], "title": "Mode"},
               "In": {"type": "object", "required": ["url"], "properties": {
                 "url": {"type": "string"},
                 "seed": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                 "mode": {"allOf": [{"$ref": "#/components/schemas/Mode"}], "default": "a"},
                 "scale": {"type": "number", "exclusiveMinimum": 0, "maximum": 2.5, "default": 1.0}}}}}}
            """
        let schema = try UpstreamSchema(appId: "owner/app", openAPI: Data(json.utf8))
        #expect(schema.fields["url"] == FieldShape(types: ["string"], required: true))
        #expect(schema.fields["seed"] == FieldShape(types: ["integer"], nullable: true))
        #expect(schema.fields["mode"] == FieldShape(types: ["string"], enumValues: ["a", "b"], defaultValue: "a"))
        #expect(schema.fields["scale"] == FieldShape(types: ["number"], minimum: 0, maximum: 2.5, defaultValue: 1))
        #expect(throws: UpstreamSchemaError.self) { try UpstreamSchema(appId: "other/app", openAPI: Data(json.utf8)) }
    }

    @Test("fetch stores each app's document and refuses one that is not FAL's OpenAPI")
    func fetch() async throws {
        let router = Router()
        router.get("openapi") { request, _ -> Response in
            let app = request.uri.queryParameters["endpoint_id"].map(String.init) ?? ""
            let file = ContractDrift.snapshotFile(for: app, in: upstreamFolder)
            guard let data = try? Data(contentsOf: file) else { return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{}"))) }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let base = "http://127.0.0.1:\(client.port!)/openapi?endpoint_id="
            let written = try await ContractDrift.fetch(appIds: ["fal-ai/flux-lora"], into: folder, base: base)
            #expect(written.count == 1)
            #expect(try Data(contentsOf: URL(fileURLWithPath: written[0])) == Data(contentsOf: ContractDrift.snapshotFile(for: "fal-ai/flux-lora", in: upstreamFolder)))
            await #expect(throws: UpstreamSchemaError.self) { try await ContractDrift.fetch(appIds: ["fal-ai/unknown"], into: folder, base: base) }
        }
    }
}
