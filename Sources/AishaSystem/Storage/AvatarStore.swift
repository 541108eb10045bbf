import Foundation

/// Where the conversation of one user stands; stored, so a restart loses nothing.
public struct ConversationState: Sendable, Codable, Hashable {
    public enum Step: String, Sendable, Codable {
        case idle, awaitingName, awaitingGender, awaitingType, uploadingPhotos, confirming
        /// Generation: the avatar is chosen, the prompt is awaited (then aspect, count, confirmation).
        case awaitingPrompt, awaitingAspect, awaitingCount, confirmingGeneration
        /// "Отменить обучение?" is asked for `avatarId`.
        case confirmingCancel
    }

    public var step: Step = .idle
    public var pendingName: String?
    public var pendingGender: Gender?
    /// The type the user picked; the training falls back to it only when an avatar row lacks its type.
    public var pendingType: TrainingType?
    public var avatarId: UUID?
    /// Generation choices so far.
    public var prompt: String?
    public var aspect: AspectRatio?
    public var imageCount: Int?
    /// The photo upload's progress message (edited as photos arrive) and what it lists as refused (optional: rows
    /// stored before they existed still decode).
    public var progressMessageId: Int64?
    public var refusedPhotos: [String]?
    /// The photo count the progress message shows (it is edited only when this changes).
    public var progressCount: Int?
    /// The message whose button led to this step: a second tap on it finds the step already taken from there.
    public var takenFrom: Int64?

    public init(step: Step = .idle, pendingName: String? = nil, pendingGender: Gender? = nil, pendingType: TrainingType? = nil, avatarId: UUID? = nil) {
        self.step = step
        self.pendingName = pendingName
        self.pendingGender = pendingGender
        self.pendingType = pendingType
        self.avatarId = avatarId
    }
}

/// An inline keyboard button.
public struct Button: Sendable, Codable, Hashable {
    public var text: String
    public var callbackData: String

    public init(_ text: String, _ callbackData: String) {
        self.text = text
        self.callbackData = callbackData
    }
}

/// A message waiting in the outbox; `dedupeKey` makes each outcome notify once however often it is reported.
public struct NotificationDraft: Sendable, Codable, Hashable {
    public var chatId: Int64
    public var text: String
    public var buttons: [[Button]]
    public var dedupeKey: String
    /// Stored images (object keys) sent as one photo or an album, `text` their caption.
    public var photos: [String]
    /// The dedupe key of an earlier notification to the same chat whose buttons this one makes stale: its keyboard
    /// is removed before this one is sent (the "cancel training" button of "training started", when the outcome comes).
    public var retires: String?

    public init(chatId: Int64, text: String, buttons: [[Button]] = [], dedupeKey: String, photos: [String] = [], retires: String? = nil) {
        self.chatId = chatId
        self.text = text
        self.buttons = buttons
        self.dedupeKey = dedupeKey
        self.photos = photos
        self.retires = retires
    }
}

/// A queued notification as the notifier sees it.
public struct QueuedNotification: Sendable, Hashable {
    public var id: Int64
    public var draft: NotificationDraft
    public var attempts: Int
}

/// What starting a training reserved.
public struct TrainingTicket: Sendable, Hashable {
    public var avatar: Avatar
    public var attempt: Int
    public var charged: Int
}

/// What applying a reported outcome did.
public enum OutcomeApplication: Sendable, Hashable {
    /// Stored, credits refunded on failure, notification queued.
    case applied(Avatar)
    /// The avatar had already finished (or moved on to another attempt): nothing written.
    case alreadyFinal(Avatar)
    /// No avatar trains under that request id: nothing written.
    case unknownRequest
}

/// The persistence seam of AishaSystem. `SQLiteAvatarStore` is the embedded default (a file, or in memory
/// for tests), `PostgresAvatarStore` the shared one for several instances; every method that changes more than one
/// row does so in one transaction.
public protocol AvatarStore: Sendable {
    func ensureUser(id: Int64, firstName: String, language: String, welcomeCredits: Int, now: Date) async throws -> User
    func user(id: Int64) async throws -> User?
    func setUserBlocked(id: Int64, blocked: Bool) async throws

    func conversation(userId: Int64) async throws -> ConversationState
    func saveConversation(userId: Int64, _ state: ConversationState, now: Date) async throws
    /// Moves the conversation from `expected` to `next` only if it still is `expected` (one transaction): of two
    /// updates that read the same state (a double tap), one wins and the other gets false.
    func advanceConversation(userId: Int64, from expected: ConversationState, to next: ConversationState, now: Date) async throws -> Bool

    func createAvatar(_ avatar: Avatar) async throws
    func avatar(id: UUID) async throws -> Avatar?
    func avatars(ownerId: Int64) async throws -> [Avatar]
    /// The avatar whose current training has this FAL request id.
    func avatar(requestId: String) async throws -> Avatar?
    /// Changes one avatar in a transaction and returns it; `change` may throw to abort.
    @discardableResult
    func updateAvatar(id: UUID, now: Date, _ change: @escaping @Sendable (inout Avatar) throws -> Void) async throws -> Avatar

    /// Adds a photo unless the avatar has `limit` photos or one with the same sha256; returns the new count.
    func addPhoto(_ photo: AvatarPhoto, limit: Int, now: Date) async throws -> Int
    func photos(avatarId: UUID) async throws -> [AvatarPhoto]

    /// Checks state and credits, charges the cost and marks the avatar `training` — all or nothing.
    func beginTraining(avatarId: UUID, ownerId: Int64, cost: Int, trainerApp: String, now: Date) async throws -> TrainingTicket
    /// Notes that the attempt's submit is about to leave for FAL: after a crash from here on, FAL may have the job.
    func markSubmitting(avatarId: UUID, attempt: Int, now: Date) async throws
    /// Stores FAL's request id for the attempt, unless the attempt already has another one; while the training runs,
    /// queues `announcement` in the same transaction (once: its dedupe key), so it precedes any outcome's message.
    func recordSubmission(avatarId: UUID, attempt: Int, requestId: String, announcement: NotificationDraft?, now: Date) async throws
    /// Ends an attempt that never reached FAL's queue (or was refused, or cancelled): refunds and stores the error.
    /// False when the attempt had already ended (a second cancel, a late abort): nothing changed.
    @discardableResult
    func abortTraining(avatarId: UUID, attempt: Int, error: String, status: AvatarStatus, notification: NotificationDraft?, now: Date) async throws -> Bool
    /// Applies a reported outcome exactly once per request id: stores the result or error, refunds a failure, and
    /// queues the notification `notify` builds from the updated avatar.
    func applyOutcome(requestId: String, _ outcome: TrainingOutcome, now: Date, notify: @escaping @Sendable (Avatar) -> NotificationDraft) async throws -> OutcomeApplication
    /// Trainings with no news since `before` (for the poller).
    func staleTrainings(before: Date) async throws -> [Avatar]
    /// Trainings with no FAL request id: started before `pendingBefore` and never sent to FAL (a crash before the
    /// submit), or sent before `submittingBefore` with no answer stored (a crash after it, and no webhook since).
    func unconfirmedTrainings(pendingBefore: Date, submittingBefore: Date) async throws -> [Avatar]
    func touchTraining(avatarId: UUID, progress: Int?, now: Date) async throws

    func ledger(userId: Int64) async throws -> [LedgerEntry]

    // Generations (`Generation`): one running per user, charged per image when created, refunded per image missing.
    /// Stores a new generation and charges `count × unitCost`; refuses when the user has one running or too few credits.
    func beginGeneration(_ generation: Generation, now: Date) async throws
    func recordGenerationSubmission(id: UUID, requestId: String, now: Date) async throws
    /// Moves a generation to its final status once, storing its images, refunding `refundImages × unitCost` and
    /// queueing what the user is told, in one transaction; false when it was final already (a duplicate webhook).
    func finishGeneration(
        id: UUID, status: GenerationStatus, images: [GeneratedImage], refundImages: Int, error: String?, notifications: [NotificationDraft], now: Date
    ) async throws -> Bool
    func generation(id: UUID) async throws -> Generation?
    func generation(requestId: String) async throws -> Generation?
    /// A user's generations, newest first.
    func generations(ownerId: Int64) async throws -> [Generation]
    /// Generations still running that began before `before` (lost webhooks).
    func unfinishedGenerations(before: Date) async throws -> [Generation]
    func generatedImages(generationId: UUID) async throws -> [GeneratedImage]

    func enqueue(_ draft: NotificationDraft, now: Date) async throws
    /// Hands out due notifications (oldest first, one per chat at a time) and claims them until `leaseUntil`, so
    /// another sender — in this process or another instance — does not take them; sent, rescheduled and dropped
    /// release the claim. A sender that dies leaves the claim to expire.
    func claimDueNotifications(now: Date, limit: Int, leaseUntil: Date) async throws -> [QueuedNotification]
    /// When the earliest pending notification is due (nil when none is pending).
    func nextNotificationDue() async throws -> Date?
    /// The outbox's depth and oldest waiting message, and the credits charged and refunded so far (`/metrics`).
    func operationalStats(now: Date) async throws -> OperationalStats
    /// Marks a notification sent, keeping the id of the message Telegram made of it when it has a keyboard to retire later.
    func markNotificationSent(id: Int64, messageId: Int64?, now: Date) async throws
    /// The message a sent notification became, while its keyboard is still up, handed out once (nil: not sent, no
    /// keyboard, or already taken): of two that would retire it, one does.
    func takeKeyboardMessage(dedupeKey: String) async throws -> Int64?
    func rescheduleNotification(id: Int64, at: Date, error: String) async throws
    /// Gives a claimed notification back untried (a sender shutting down), due as before.
    func releaseNotification(id: Int64) async throws
    func dropNotification(id: Int64, reason: String, now: Date) async throws

    func setting(_ key: String) async throws -> String?
    func setSetting(_ key: String, _ value: String) async throws

    /// Releases connections (a no-op for the embedded store).
    func close() async
}

extension AvatarStore {
    public func close() async {}
}
