import Foundation

/// The shapes a user can pick for generated images.
public enum AspectRatio: String, Sendable, Codable, CaseIterable {
    case square = "1:1"
    case portrait = "3:4"
    case story = "9:16"
    case landscape = "16:9"

    /// flux-lora's named `image_size` for this shape.
    var loraImageSize: String {
        switch self {
        case .square: "square_hd"
        case .portrait: "portrait_4_3"
        case .story: "portrait_16_9"
        case .landscape: "landscape_16_9"
        }
    }

    /// A short token for callback data.
    var token: String {
        switch self {
        case .square: "sq"
        case .portrait: "p34"
        case .story: "p916"
        case .landscape: "l169"
        }
    }

    init?(token: String) {
        guard let match = Self.allCases.first(where: { $0.token == token }) else { return nil }
        self = match
    }
}

/// Where a generation is.
public enum GenerationStatus: String, Sendable, Codable {
    /// Charged; the submit is on its way.
    case submitting
    /// FAL accepted it.
    case running
    /// Images stored (some may have been withheld and refunded).
    case completed
    /// Nothing came back; everything refunded.
    case failed

    public var isFinal: Bool { self == .completed || self == .failed }
}

/// One paid request for images with an avatar.
public struct Generation: Sendable, Codable, Hashable, Identifiable {
    public var id: UUID
    public var ownerId: Int64
    public var avatarId: UUID
    /// What the user asked for (the trigger word is added when it is sent).
    public var prompt: String
    public var aspect: AspectRatio
    public var count: Int
    /// Credits per image, as charged.
    public var unitCost: Int
    public var status: GenerationStatus
    public var app: String
    public var requestId: String?
    /// Images stored and sent.
    public var delivered: Int
    public var error: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, ownerId: Int64, avatarId: UUID, prompt: String, aspect: AspectRatio, count: Int, unitCost: Int,
        status: GenerationStatus = .submitting, app: String, requestId: String? = nil, delivered: Int = 0, error: String? = nil,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.ownerId = ownerId
        self.avatarId = avatarId
        self.prompt = prompt
        self.aspect = aspect
        self.count = count
        self.unitCost = unitCost
        self.status = status
        self.app = app
        self.requestId = requestId
        self.delivered = delivered
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One stored image of a generation.
public struct GeneratedImage: Sendable, Codable, Hashable {
    public var generationId: UUID
    public var position: Int
    public var objectKey: String
    public var width: Int
    public var height: Int

    public init(generationId: UUID, position: Int, objectKey: String, width: Int, height: Int) {
        self.generationId = generationId
        self.position = position
        self.objectKey = objectKey
        self.width = width
        self.height = height
    }
}

/// Limits of a generation request.
public enum GenerationRules {
    public static let maxImages = 4
    /// Longer prompts are refused before anything is paid (FAL's models read about this much; documented choice).
    public static let maxPromptLength = 1000
}
