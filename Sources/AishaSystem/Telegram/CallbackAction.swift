import Foundation

/// Every inline button's action: encoded to callback data and decoded from it here and nowhere else. Telegram allows
/// 64 bytes of callback data (`maxBytes`; a test checks every case at its longest).
public enum CallbackAction: Sendable, Hashable {
    case createAvatar
    case myAvatars
    case gender(Gender)
    case type(TrainingType)
    case photosDone(UUID)
    case retrain(UUID)
    case startTraining(UUID)
    /// Cancels at once (an avatar not yet training costs nothing; a running training after `askCancel`).
    case cancel(UUID)
    /// Asks before a running training is cancelled, saying whether the credits come back.
    case askCancel(UUID)
    /// The answer "no" to `askCancel`: the training goes on.
    case keepTraining(UUID)
    /// Generation: the menu's entry, then the avatar, a ready style, the shape, the number of images, the confirmation.
    case generate
    case generateWith(UUID)
    case style(Int)
    case aspect(AspectRatio)
    case imageCount(Int)
    case confirmGeneration
    /// The same request again.
    case again(UUID)
    /// The gallery: the avatars to choose from, then one avatar's latest images.
    case gallery
    case galleryOf(UUID)

    public static let maxBytes = 64

    public var data: String {
        switch self {
        case .createAvatar: "menu:create"
        case .myAvatars: "menu:avatars"
        case .gender(let gender): "g:\(gender.rawValue)"
        case .type(let type): "t:\(type.rawValue)"
        case .photosDone(let id): "done:\(Self.key(id))"
        case .retrain(let id): "retrain:\(Self.key(id))"
        case .startTraining(let id): "go:\(Self.key(id))"
        case .cancel(let id): "cancel:\(Self.key(id))"
        case .askCancel(let id): "cancel?:\(Self.key(id))"
        case .keepTraining(let id): "keep:\(Self.key(id))"
        case .generate: "menu:generate"
        case .generateWith(let id): "gen:\(Self.key(id))"
        case .style(let index): "gs:\(index)"
        case .aspect(let aspect): "ga:\(aspect.token)"
        case .imageCount(let count): "gn:\(count)"
        case .confirmGeneration: "gok"
        case .again(let id): "again:\(Self.key(id))"
        case .gallery: "menu:gallery"
        case .galleryOf(let id): "gal:\(Self.key(id))"
        }
    }

    public init?(data: String) {
        let parts = data.split(separator: ":", maxSplits: 1).map(String.init)
        let argument = parts.count > 1 ? parts[1] : ""
        let id = UUID(uuidString: argument)
        switch (parts.first ?? "", id) {
        case ("menu", _) where argument == "create": self = .createAvatar
        case ("menu", _) where argument == "avatars": self = .myAvatars
        case ("menu", _) where argument == "generate": self = .generate
        case ("menu", _) where argument == "gallery": self = .gallery
        case ("gal", let id?): self = .galleryOf(id)
        case ("g", _): guard let gender = Gender(rawValue: argument) else { return nil }; self = .gender(gender)
        case ("t", _): guard let type = TrainingType(rawValue: argument) else { return nil }; self = .type(type)
        case ("done", let id?): self = .photosDone(id)
        case ("retrain", let id?): self = .retrain(id)
        case ("go", let id?): self = .startTraining(id)
        case ("cancel", let id?): self = .cancel(id)
        case ("cancel?", let id?): self = .askCancel(id)
        case ("keep", let id?): self = .keepTraining(id)
        case ("gen", let id?): self = .generateWith(id)
        case ("gs", _): guard let index = Int(argument) else { return nil }; self = .style(index)
        case ("ga", _): guard let aspect = AspectRatio(token: argument) else { return nil }; self = .aspect(aspect)
        case ("gn", _): guard let count = Int(argument) else { return nil }; self = .imageCount(count)
        case ("gok", _): self = .confirmGeneration
        case ("again", let id?): self = .again(id)
        default: return nil
        }
    }

    private static func key(_ id: UUID) -> String { id.uuidString.lowercased() }

    /// A step of a conversation: once it is taken, the keyboard it was tapped on is removed (a menu stays, and so does
    /// "cancel training": it asks in a message of its own, and the button goes when the training ends).
    var finishesStep: Bool {
        switch self {
        case .gender, .type, .photosDone, .retrain, .startTraining, .cancel, .keepTraining, .generateWith, .style, .aspect, .imageCount, .confirmGeneration:
            true
        case .createAvatar, .myAvatars, .askCancel, .generate, .again, .gallery, .galleryOf: false
        }
    }
}

extension Button {
    public init(_ text: String, _ action: CallbackAction) {
        self.init(text, action.data)
    }
}
