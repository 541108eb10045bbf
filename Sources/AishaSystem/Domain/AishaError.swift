import Foundation

/// Errors with a message fit to show the user (Russian, from the text catalogue) and a log description.
public enum AishaError: Error, Sendable, Equatable, CustomStringConvertible {
    case notYourAvatar
    case avatarNotFound
    case staleButton
    case photoRejected(String)
    case tooManyPhotos
    case notEnoughPhotos(have: Int)
    case insufficientCredits(balance: Int, cost: Int)
    case trainingAlreadyStarted
    case noArchive(String)
    case falRejected(String)
    case falUnavailable(String)
    /// The submit got no answer: FAL may be training; its webhook (or the submission timeout) settles it.
    case submitUnconfirmed
    /// The user cancelled the training while its submit was being made: nothing more goes to FAL.
    case trainingCancelled
    /// Generation refused: the avatar is not ready (training, failed, cancelled).
    case avatarNotReady(AvatarStatus)
    case promptEmpty
    case promptTooLong(Int)
    /// A generation of this user is still running.
    case generationRunning

    public var description: String {
        switch self {
        case .notYourAvatar: "avatar belongs to another user"
        case .avatarNotFound: "avatar not found"
        case .staleButton: "button from an old conversation step"
        case .photoRejected(let why): "photo rejected: \(why)"
        case .tooManyPhotos: "more than 20 photos"
        case .notEnoughPhotos(let have): "only \(have) photos"
        case .insufficientCredits(let balance, let cost): "balance \(balance) < cost \(cost)"
        case .trainingAlreadyStarted: "training already started"
        case .noArchive(let why): "no training archive: \(why)"
        case .falRejected(let why): "FAL rejected the request: \(why)"
        case .falUnavailable(let why): "FAL unavailable: \(why)"
        case .submitUnconfirmed: "FAL did not answer the submit"
        case .trainingCancelled: "training cancelled during the submit"
        case .avatarNotReady(let status): "avatar is \(status.rawValue), not completed"
        case .promptEmpty: "empty prompt"
        case .promptTooLong(let length): "prompt of \(length) characters"
        case .generationRunning: "a generation is still running"
        }
    }
}
