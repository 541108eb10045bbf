import Foundation
@testable import MockFAL
import SupportKit
import Testing

/// MockFAL is stateful across apps: generation accepts only the finetunes and LoRA files its own trainings made.
@Suite("MockFAL models: generation uses only what training made")
struct ModelRegistryTests {
    func queue() throws -> FALQueue {
        var configuration = MockFALConfiguration(contracts: try .bundled(), time: .virtual(VirtualClock(), start: Date(timeIntervalSince1970: 1_790_000_000)))
        configuration.simulatedSteps = 1
        return FALQueue(configuration: configuration, logger: .init(label: "test"))
    }

    func submit(_ queue: FALQueue, _ app: String, _ input: JSONValue) async throws -> QueueReply {
        await queue.submit(path: app, body: try input.jsonData(), webhookURL: nil, baseURL: "http://mock", authorization: "Key k")
    }

    @Test("an unknown finetune_id and a LoRA MockFAL never served are refused with 422 naming the field; registered ones pass")
    func unknownRefused() async throws {
        let queue = try queue()
        let ultra = try await submit(queue, "fal-ai/flux-pro/v1.1-ultra-finetuned", ["prompt": "x", "finetune_id": "ft-nobody", "finetune_strength": 1])
        #expect(ultra.status == 422)
        #expect(ultra.body["detail"]?.arrayValue?.first?["loc"] == ["body", "finetune_id"])
        let lora = try await submit(queue, "fal-ai/flux-lora", ["prompt": "x", "loras": [["path": "http://elsewhere/w.safetensors"]]])
        #expect(lora.status == 422)
        #expect(lora.body["detail"]?.arrayValue?.first?["loc"] == ["body", "loras", 0, "path"])
        await queue.registerModel(finetuneId: "ft-nobody", loraURL: "http://elsewhere/w.safetensors")
        #expect(try await submit(queue, "fal-ai/flux-pro/v1.1-ultra-finetuned", ["prompt": "x", "finetune_id": "ft-nobody", "finetune_strength": 1]).status == 200)
        #expect(try await submit(queue, "fal-ai/flux-lora", ["prompt": "x", "loras": [["path": "http://elsewhere/w.safetensors"]]]).status == 200)
    }
}
