import Foundation
import SupportKit

/// The trainer used for 🎨 style avatars. FAL marks flux-pro-trainer deprecated, so this is configuration.
public enum StyleTrainer: String, Sendable, Codable, CaseIterable {
    case fluxProTrainer = "flux-pro-trainer"
    case fluxLoraFastTraining = "flux-lora-fast-training"

    public var appId: String { "fal-ai/\(rawValue)" }
}

/// Input of `fal-ai/flux-lora-portrait-trainer`.
struct PortraitTrainingInput: Encodable {
    var imagesDataURL: String
    var triggerPhrase: String
    var steps: Int
    var learningRate: Double
    var multiresolutionTraining = true
    var subjectCrop = true
    var createMasks = false

    enum CodingKeys: String, CodingKey {
        case imagesDataURL = "images_data_url", triggerPhrase = "trigger_phrase", steps, learningRate = "learning_rate"
        case multiresolutionTraining = "multiresolution_training", subjectCrop = "subject_crop", createMasks = "create_masks"
    }
}

/// Input of `fal-ai/flux-pro-trainer` in style mode. It takes `iterations`, never `steps`.
struct ProStyleTrainingInput: Encodable {
    var dataURL: String
    var finetuneComment: String
    var mode = "style"
    var iterations: Int
    var learningRate: Double
    var priority: String
    var triggerWord: String
    var finetuneType = "lora"
    var loraRank: Int
    var captioning = true

    enum CodingKeys: String, CodingKey {
        case dataURL = "data_url", finetuneComment = "finetune_comment", mode, iterations, learningRate = "learning_rate"
        case priority, triggerWord = "trigger_word", finetuneType = "finetune_type", loraRank = "lora_rank", captioning
    }
}

/// Input of `fal-ai/flux-lora-fast-training` for style (`is_style: true`).
struct FastStyleTrainingInput: Encodable {
    var imagesDataURL: String
    var triggerWord: String
    var steps: Int
    var isStyle = true
    var createMasks = false

    enum CodingKeys: String, CodingKey {
        case imagesDataURL = "images_data_url", triggerWord = "trigger_word", steps, isStyle = "is_style", createMasks = "create_masks"
    }
}

/// What to submit for a training: the app, its input, and the seed's launch log line.
public struct TrainerPlan: Sendable, Hashable {
    public var app: String
    public var input: JSONValue
    public var launchLog: String
}

/// Per-trainer presets; `balanced` is the original system's configuration.
public enum TrainerPresets {
    static func portrait(_ preset: TrainingPreset) -> (steps: Int, learningRate: Double) {
        switch preset {
        case .fast: (500, 0.0003)
        case .balanced: (1000, 0.0002)
        case .quality: (2500, 0.0001)
        }
    }

    static func proStyle(_ preset: TrainingPreset) -> (iterations: Int, learningRate: Double, priority: String, loraRank: Int) {
        switch preset {
        case .fast: (300, 0.0001, "speed", 16)
        case .balanced: (500, 0.0001, "quality", 32)
        case .quality: (1000, 0.0001, "quality", 32)
        }
    }

    static func fastStyle(_ preset: TrainingPreset) -> Int {
        switch preset {
        case .fast: 500
        case .balanced: 1000
        case .quality: 2000
        }
    }

    /// The trainer app and typed input for an avatar's type and preset.
    public static func plan(
        type: TrainingType, preset: TrainingPreset, styleTrainer: StyleTrainer, archiveURL: String, avatar: Avatar
    ) throws -> TrainerPlan {
        switch (type, styleTrainer) {
        case (.portrait, _):
            let values = portrait(preset)
            let input = PortraitTrainingInput(
                imagesDataURL: archiveURL, triggerPhrase: avatar.triggerWord, steps: values.steps, learningRate: values.learningRate)
            return TrainerPlan(app: "fal-ai/flux-lora-portrait-trainer", input: try JSONValue.from(input), launchLog: "🎭 Портретное обучение запущено")
        case (.style, .fluxProTrainer):
            let values = proStyle(preset)
            let input = ProStyleTrainingInput(
                dataURL: archiveURL, finetuneComment: "aisha avatar \(avatar.id.uuidString.lowercased()) (\(avatar.name))",
                iterations: values.iterations, learningRate: values.learningRate, priority: values.priority,
                triggerWord: avatar.triggerWord, loraRank: values.loraRank)
            return TrainerPlan(app: styleTrainer.appId, input: try JSONValue.from(input), launchLog: "🎨 Художественное обучение запущено")
        case (.style, .fluxLoraFastTraining):
            let input = FastStyleTrainingInput(imagesDataURL: archiveURL, triggerWord: avatar.triggerWord, steps: fastStyle(preset))
            return TrainerPlan(app: styleTrainer.appId, input: try JSONValue.from(input), launchLog: "🎨 Художественное обучение запущено")
        }
    }
}
