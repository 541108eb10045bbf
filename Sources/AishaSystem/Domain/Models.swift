import Foundation

/// A Telegram user of the bot.
public struct User: Sendable, Codable, Hashable {
    public var id: Int64
    public var firstName: String
    public var language: String
    public var blocked: Bool
    /// Credits available for trainings.
    public var balance: Int
    public var createdAt: Date
}

public enum Gender: String, Sendable, Codable, CaseIterable {
    case male, female
}

/// 🎭 portrait (flux-lora-portrait-trainer) or 🎨 artistic/style (the configured style trainer).
public enum TrainingType: String, Sendable, Codable, CaseIterable {
    case portrait, style
}

/// draft → uploading → ready_for_training → training → completed | error | cancelled
public enum AvatarStatus: String, Sendable, Codable, CaseIterable {
    case draft, uploading
    case readyForTraining = "ready_for_training"
    case training, completed, error, cancelled

    /// A finished training: later or repeated status updates never move the avatar away from it.
    public var isFinal: Bool { self == .completed || self == .error || self == .cancelled }
}

/// Training presets; `balanced` carries the original system's values.
public enum TrainingPreset: String, Sendable, Codable, CaseIterable {
    case fast, balanced, quality
}

/// A personal avatar and its training.
public struct Avatar: Sendable, Codable, Hashable, Identifiable {
    public var id: UUID
    public var ownerId: Int64
    public var name: String
    public var gender: Gender
    /// Nil only for rows written before the type was stored (the seed's bug 2); training then falls back to the
    /// conversation state.
    public var trainingType: TrainingType?
    public var status: AvatarStatus
    public var preset: TrainingPreset
    /// Which attempt the current/last training is (1 for the first, +1 per retrain).
    public var trainingAttempt: Int
    public var trainerApp: String?
    public var falRequestId: String?
    public var finetuneId: String?
    public var loraURL: String?
    public var configURL: String?
    public var triggerWord: String
    public var progress: Int
    public var errorText: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, ownerId: Int64, name: String, gender: Gender, trainingType: TrainingType?, status: AvatarStatus,
        preset: TrainingPreset, trainingAttempt: Int, trainerApp: String? = nil, falRequestId: String? = nil,
        finetuneId: String? = nil, loraURL: String? = nil, configURL: String? = nil, triggerWord: String, progress: Int,
        errorText: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.ownerId = ownerId
        self.name = name
        self.gender = gender
        self.trainingType = trainingType
        self.status = status
        self.preset = preset
        self.trainingAttempt = trainingAttempt
        self.trainerApp = trainerApp
        self.falRequestId = falRequestId
        self.finetuneId = finetuneId
        self.loraURL = loraURL
        self.configURL = configURL
        self.triggerWord = triggerWord
        self.progress = progress
        self.errorText = errorText
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// `TOK_` + the first 8 hex digits of the id: stored, and used for training and generation.
    public static func triggerWord(for id: UUID) -> String {
        "TOK_" + id.uuidString.replacingOccurrences(of: "-", with: "").prefix(8).lowercased()
    }
}

/// One uploaded photo of an avatar.
public struct AvatarPhoto: Sendable, Codable, Hashable {
    public var id: UUID
    public var avatarId: UUID
    public var objectKey: String
    public var sha256: String
    public var size: Int
    public var width: Int
    public var height: Int
    public var position: Int

    public init(id: UUID, avatarId: UUID, objectKey: String, sha256: String, size: Int, width: Int, height: Int, position: Int) {
        self.id = id
        self.avatarId = avatarId
        self.objectKey = objectKey
        self.sha256 = sha256
        self.size = size
        self.width = width
        self.height = height
        self.position = position
    }
}

/// A credits movement: every charge and refund is one row.
public struct LedgerEntry: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable { case charge, refund, grant }
    public var userId: Int64
    public var avatarId: UUID?
    public var attempt: Int
    public var kind: Kind
    /// Negative for charges.
    public var amount: Int
    public var reason: String
    public var createdAt: Date
}

extension Avatar {
    /// Starts training attempt `attempt` on `trainerApp`, clearing what the previous attempt left.
    mutating func beginAttempt(_ attempt: Int, trainerApp: String, now: Date) {
        status = .training
        trainingAttempt = attempt
        self.trainerApp = trainerApp
        falRequestId = nil
        finetuneId = nil
        loraURL = nil
        configURL = nil
        errorText = nil
        progress = 0
        updatedAt = now
    }

    /// Stores a reported outcome: the result and `completed`, or the error and `error`.
    mutating func apply(_ outcome: TrainingOutcome) {
        switch outcome {
        case .finetune(let id):
            finetuneId = id
            status = .completed
            progress = 100
        case .lora(let weights, let config):
            loraURL = weights
            configURL = config
            status = .completed
            progress = 100
        case .failed(let message):
            errorText = message
            status = .error
        }
    }
}
