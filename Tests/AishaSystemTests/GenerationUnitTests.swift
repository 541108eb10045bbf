@testable import AishaSystem
import Foundation
import SupportKit
import Testing

/// The typed callback data, the generation inputs per avatar kind, and FAL's generation report.
@Suite("Generation: callback codec, inputs per avatar kind, reports")
struct GenerationUnitTests {
    static let id = UUID(uuidString: "ffffffff-ffff-ffff-ffff-ffffffffffff")!

    static let everyAction: [CallbackAction] =
        [.createAvatar, .myAvatars, .generate, .confirmGeneration, .gallery, .galleryOf(id)]
        + Gender.allCases.map(CallbackAction.gender) + [TrainingType.portrait, .style].map(CallbackAction.type)
        + [CallbackAction.photosDone(id), .retrain(id), .startTraining(id), .cancel(id), .askCancel(id), .keepTraining(id), .generateWith(id), .again(id)]
        + Texts.styles.indices.map(CallbackAction.style) + AspectRatio.allCases.map(CallbackAction.aspect)
        + (1...GenerationRules.maxImages).map(CallbackAction.imageCount)

    @Test("every action round-trips through its callback data and fits Telegram's 64 bytes")
    func codec() {
        for action in Self.everyAction {
            #expect(CallbackAction(data: action.data) == action, "\(action.data)")
            #expect(action.data.utf8.count <= CallbackAction.maxBytes, "\(action.data)")
        }
        #expect(CallbackAction(data: "done:not-a-uuid") == nil)
        #expect(CallbackAction(data: "ga:7:5") == nil)
        #expect(CallbackAction(data: "") == nil)
    }

    func avatar(finetune: String? = nil, lora: String? = nil) -> Avatar {
        Avatar(
            id: Self.id, ownerId: 1, name: "A", gender: .female, trainingType: finetune == nil ? .portrait : .style, status: .completed,
            preset: .balanced, trainingAttempt: 1, finetuneId: finetune, loraURL: lora, triggerWord: "TOK_ffffffff", progress: 100,
            createdAt: Date(), updatedAt: Date())
    }

    @Test("a finetune goes to flux-pro ultra with its finetune_id; a LoRA to flux-lora with its file; the trigger word leads")
    func inputs() throws {
        let pro = try #require(GenerationInputs.plan(avatar: avatar(finetune: "ft-1"), prompt: "at sea", aspect: .story, count: 3))
        #expect(pro.app == "fal-ai/flux-pro/v1.1-ultra-finetuned")
        #expect(pro.input["finetune_id"] == "ft-1")
        #expect(pro.input["aspect_ratio"] == "9:16")
        #expect(pro.input["num_images"] == 3)
        #expect(pro.input["prompt"] == "TOK_ffffffff at sea")
        let lora = try #require(GenerationInputs.plan(avatar: avatar(lora: "http://x/w.safetensors"), prompt: "at sea", aspect: .landscape, count: 1))
        #expect(lora.app == "fal-ai/flux-lora")
        #expect(lora.input["loras"]?.arrayValue?.first?["path"] == "http://x/w.safetensors")
        #expect(lora.input["image_size"] == "landscape_16_9")
        #expect(lora.input["finetune_id"] == nil)
        #expect(GenerationInputs.plan(avatar: avatar(), prompt: "x", aspect: .square, count: 1) == nil)
    }

    @Test("FAL's report: images with their NSFW flags, or the error")
    func report() throws {
        let ok = try GenerationReport.webhook([
            "request_id": "r", "status": "OK",
            "payload": ["images": [["url": "http://a"], ["url": "http://b"]], "has_nsfw_concepts": [false, true]],
        ])
        #expect(ok.images == [.init(url: "http://a", nsfw: false), .init(url: "http://b", nsfw: true)])
        let failed = try GenerationReport.webhook(["request_id": "r", "status": "ERROR", "error": "boom"])
        #expect(failed.images == nil)
        #expect(failed.error != nil)
        #expect(throws: (any Error).self) { try GenerationReport.webhook(["status": "OK"]) }
    }
}
