import Foundation
import SupportKit

/// What a generation sends to FAL, per avatar kind: a finetune (flux-pro-trainer) goes to
/// `fal-ai/flux-pro/v1.1-ultra-finetuned` with its `finetune_id`; a LoRA (portrait / fast trainer) to `fal-ai/flux-lora`
/// with its LoRA file. The avatar's stored trigger word leads every prompt.
public struct GenerationPlan: Sendable, Hashable {
    public var app: String
    public var input: JSONValue
}

public enum GenerationInputs {
    public static let finetunedApp = "fal-ai/flux-pro/v1.1-ultra-finetuned"
    public static let loraApp = "fal-ai/flux-lora"
    /// How strongly the finetune shapes the image (FAL's range 0–2; 1.0 keeps the likeness without overcooking).
    public static let finetuneStrength = 1.0
    /// The LoRA's weight (FAL's default 1).
    public static let loraScale = 1.0

    /// The plan for a completed avatar; nil when it has neither a finetune nor a LoRA.
    public static func plan(avatar: Avatar, prompt: String, aspect: AspectRatio, count: Int) -> GenerationPlan? {
        let text = "\(avatar.triggerWord) \(prompt)"
        if let finetune = avatar.finetuneId {
            return GenerationPlan(
                app: finetunedApp,
                input: [
                    "prompt": .string(text), "finetune_id": .string(finetune), "finetune_strength": .double(finetuneStrength),
                    "aspect_ratio": .string(aspect.rawValue), "num_images": .int(count), "output_format": "png",
                ])
        }
        if let lora = avatar.loraURL {
            return GenerationPlan(
                app: loraApp,
                input: [
                    "prompt": .string(text), "loras": [["path": .string(lora), "scale": .double(loraScale)]],
                    "image_size": .string(aspect.loraImageSize), "num_images": .int(count), "output_format": "png",
                ])
        }
        return nil
    }
}
