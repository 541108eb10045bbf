import Foundation
import MockFAL
import SupportKit
import Testing

@Suite("Contracts: FAL's published input schemas, enforced")
struct ContractTests {
    @Test("every bundled contract loads", arguments: [
        "fal-ai/flux-lora-portrait-trainer", "fal-ai/flux-pro-trainer", "fal-ai/flux-lora-fast-training",
        "fal-ai/flux-pro/v1.1-ultra-finetuned", "fal-ai/flux-lora",
    ])
    func bundled(app: String) throws {
        let contract = try #require(try ContractCatalog.bundled().contract(forPath: app))
        #expect(contract.appId == app)
        #expect(!contract.fields.isEmpty)
    }

    @Test("steps sent to flux-pro-trainer is refused by name (seed bug 3)")
    func stepsRefused() async throws {
        let harness = try Harness()
        var input = Harness.styleInput.objectValue!
        input["steps"] = 2000
        input.removeValue(forKey: "iterations")
        let reply = try await harness.submit("fal-ai/flux-pro-trainer", .object(input))
        #expect(reply.status == 422)
        #expect(reply.problemFields == ["steps"])
        #expect(reply.problemTypes == ["value_error.extra"])
        let entry = try #require(await harness.queue.journalEntries().last)
        #expect(entry.verdict == .rejected)
        #expect(await harness.queue.snapshots().isEmpty)
    }

    @Test("every problem is listed: missing, wrong type, out of range, bad enum")
    func allProblems() async throws {
        let harness = try Harness()
        let input: JSONValue = ["data_url": 12, "mode": "portrait", "iterations": 2000, "lora_rank": 8, "captioning": "yes"]
        let reply = try await harness.submit("fal-ai/flux-pro-trainer", input)
        #expect(reply.status == 422)
        #expect(Set(reply.problemFields) == ["data_url", "finetune_comment", "mode", "iterations", "lora_rank", "captioning"])
        #expect(Set(reply.problemTypes) == ["type_error.str", "value_error.missing", "one_of", "less_than_equal", "type_error.bool"])
    }

    @Test("ranges: below minimum and above maximum carry FAL's ctx")
    func ranges() async throws {
        let harness = try Harness()
        var low = Harness.portraitInput.objectValue!
        low["learning_rate"] = 0.0000001
        let reply = try await harness.submit("fal-ai/flux-lora-portrait-trainer", .object(low))
        #expect(reply.problemTypes == ["greater_than_equal"])
        let detail = try #require(reply.body["detail"]?.arrayValue?.first)
        #expect(detail["ctx"]?["ge"]?.doubleValue == 0.000001)
        var high = Harness.portraitInput.objectValue!
        high["steps"] = 10001
        #expect(try await harness.submit("fal-ai/flux-lora-portrait-trainer", .object(high)).problemTypes == ["less_than_equal"])
    }

    @Test("nested fields of arrays are checked with indexed locations")
    func nested() async throws {
        let harness = try Harness()
        let input: JSONValue = ["prompt": "a cat", "loras": [["scale": 1], ["path": "http://x/l.safetensors", "scale": 9]]]
        let reply = try await harness.submit("fal-ai/flux-lora", input)
        let locs = reply.body["detail"]?.arrayValue?.map { $0["loc"]!.description } ?? []
        #expect(locs == [#"["body","loras",0,"path"]"#, #"["body","loras",1,"scale"]"#])
    }

    @Test("a valid input is accepted and defaults are filled in")
    func accepted() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        let reply = try await harness.submit("fal-ai/flux-pro-trainer", Harness.styleInput)
        #expect(reply.status == 200)
        #expect(reply.body["status"] == "IN_QUEUE")
        #expect(reply.body["queue_position"] == 0)
        let id = reply.requestId
        #expect(reply.body["status_url"]?.stringValue == "\(Harness.base)/fal-ai/flux-pro-trainer/requests/\(id)/status")
        let job = try #require(await harness.queue.snapshots().first)
        #expect(job.effectiveInput["captioning"] == true)
        #expect(job.totalSteps == 500)
    }

    @Test("lenient mode accepts violations and records them")
    func lenient() async throws {
        let harness = try Harness(mode: .lenient)
        try await harness.serveArchive()
        var input = Harness.styleInput.objectValue!
        input["steps"] = 2000
        let reply = try await harness.submit("fal-ai/flux-pro-trainer", .object(input))
        #expect(reply.status == 200)
        let entry = try #require(await harness.queue.journalEntries().last)
        #expect(entry.verdict == .recorded)
        #expect(entry.problems?.map(\.field) == ["steps"])
    }

    @Test("unknown app → 404; missing or wrong key → 401; bad JSON → 422")
    func edges() async throws {
        let harness = try Harness { $0.apiKey = "secret" }
        #expect(try await harness.submit("fal-ai/no-such-app", [:], key: "Key secret").status == 404)
        #expect(try await harness.submit("fal-ai/flux-pro-trainer", Harness.styleInput, key: nil).status == 401)
        #expect(try await harness.submit("fal-ai/flux-pro-trainer", Harness.styleInput, key: "Key other").status == 401)
        let bad = await harness.queue.submit(
            path: "fal-ai/flux-pro-trainer", body: Data("{".utf8), webhookURL: nil, baseURL: Harness.base,
            authorization: "Key secret")
        #expect(bad.status == 422)
        #expect(await harness.queue.status(prefix: "fal-ai/flux-pro-trainer", requestId: "nope", logs: false, authorization: "Key secret").status == 404)
    }

    @Test("sub-path app ids resolve to their contract; status URLs use owner/app only")
    func subPath() async throws {
        let harness = try Harness()
        await harness.queue.registerModel(finetuneId: "ft-1", loraURL: nil)  // generation needs a finetune MockFAL knows
        let input: JSONValue = ["prompt": "me", "finetune_id": "ft-1", "finetune_strength": 1.0]
        let reply = try await harness.submit("fal-ai/flux-pro/v1.1-ultra-finetuned", input, webhook: nil)
        #expect(reply.status == 200)
        #expect(reply.body["status_url"]?.stringValue?.contains("/fal-ai/flux-pro/requests/") == true)
    }

    @Test("deprecated apps can be told to answer like a retired FAL endpoint")
    func deprecated() async throws {
        let harness = try Harness { $0.refuseDeprecatedApps = true }
        let reply = try await harness.submit("fal-ai/flux-pro-trainer", Harness.styleInput)
        #expect(reply.status == 410)
        #expect(reply.body["detail"]?.stringValue?.contains("deprecated") == true)
    }
}
