import Foundation
import Logging
import SupportKit

/// Settings of the conversation.
public struct ConversationSettings: Sendable {
    public var cost: Int
    public var welcomeCredits: Int
    public var preset: TrainingPreset
}

/// Turns Telegram updates into the avatar conversation of DESIGN §2. State lives in the store; every refusal is
/// answered with a clear message and changes nothing already stored.
public struct ConversationHandler: Sendable {
    let store: any AvatarStore
    let telegram: TelegramClient
    let photos: PhotoIntake
    let training: TrainingService
    let generation: GenerationService
    let fal: FALClient
    let settings: ConversationSettings
    let time: TimeSource
    let logger: Logger
    var defects: Set<InjectedDefect> = []
    /// What this instance last sent each photo progress message as.
    let shownProgress = ShownProgress()

    public func handle(_ update: TelegramUpdate) async {
        // The user writes or taps: whatever they blocked before, the bot may answer them again.
        if let chat = update.message?.chat.id ?? update.callbackQuery?.from.id { telegram.blockedChats.remove(chat) }
        do {
            if let message = update.message {
                try await handle(message)
            } else if let callback = update.callbackQuery {
                try await handle(callback)
            }
        } catch {
            logger.error("update \(update.updateId) failed: \(error)")
        }
    }

    // MARK: Messages

    private func handle(_ message: TelegramMessage) async throws {
        guard let from = message.from, from.isBot != true else { return }
        let chat = message.chat.id
        let user = try await store.ensureUser(
            id: from.id, firstName: from.firstName, language: from.languageCode ?? "ru", welcomeCredits: settings.welcomeCredits, now: time.now())
        var state = try await store.conversation(userId: user.id)
        let text = message.text?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let text, text.hasPrefix("/start") || text == "/menu" || text == "/cancel" {
            try await store.saveConversation(userId: user.id, ConversationState(), now: time.now())
            try await telegram.sendMessage(chatId: chat, text: Texts.welcome(name: user.firstName, balance: user.balance), buttons: Texts.mainMenuButtons)
            return
        }
        if text == "/avatars" { return try await listAvatars(chat: chat, userId: user.id) }
        if text == "/gallery" { return try await handleGeneration(.gallery, chat: chat, user: user, state: state) }
        switch state.step {
        case .awaitingName:
            guard let raw = message.text else { return try await reply(chat, Texts.askName) }
            switch Self.validateName(raw) {
            case .failure(let why):
                try await reply(chat, Texts.nameRejected(why.reason))
            case .success(let name):
                state.pendingName = name
                state.step = .awaitingGender
                try await store.saveConversation(userId: user.id, state, now: time.now())
                try await telegram.sendMessage(chatId: chat, text: Texts.askGender(name: name), buttons: Texts.genderButtons)
            }
        case .uploadingPhotos:
            guard let avatarId = state.avatarId, message.photo != nil || message.document != nil else {
                try await progress.close(chat: chat, userId: user.id)
                return try await reply(chat, Texts.expectingPhotos)
            }
            var refusal: String?
            do {
                _ = try await photos.accept(message, avatarId: avatarId)
            } catch AishaError.photoRejected(let why) {
                logger.info("photo refused: \(why)", metadata: ["avatar_id": "\(avatarId)"])
                refusal = message.document?.fileName.map { "\($0): \(why)" } ?? why
            } catch AishaError.tooManyPhotos {
                refusal = Texts.photoLimit
            }
            try await progress.show(chat: chat, userId: user.id, avatarId: avatarId, refusal: refusal)
        case .awaitingPrompt:
            try await promptReceived(message.text ?? "", chat: chat, user: user, state: state)
        default:
            try await reply(chat, message.photo != nil || message.document != nil ? Texts.notExpectingPhotos : Texts.unknownText)
        }
    }

    /// Moves the conversation on from the state the tap was handled in: of two taps at once (a double tap, two
    /// instances) one moves on and the other is stale, answered by a toast.
    func claim(_ userId: Int64, from state: ConversationState, to next: ConversationState) async throws {
        guard next != state, try await store.advanceConversation(userId: userId, from: state, to: next, now: time.now()) else { throw AishaError.staleButton }
    }

    var progress: PhotoProgress { PhotoProgress(store: store, telegram: telegram, time: time, shown: shownProgress) }

    struct NameProblem: Error { let reason: String }

    /// Names are trimmed, 1–40 characters, without control characters.
    static func validateName(_ raw: String) -> Result<String, NameProblem> {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty { return .failure(NameProblem(reason: Texts.nameEmpty)) }
        if name.count > 40 { return .failure(NameProblem(reason: Texts.nameTooLong)) }
        if name.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) {
            return .failure(NameProblem(reason: Texts.nameControl))
        }
        return .success(name)
    }

    // MARK: Buttons

    /// A tap is answered once, when handled: quietly, or with a toast when it is refused (an alert where the user must
    /// act); refusals that need buttons or a longer explanation also get a message.
    private func handle(_ callback: TelegramCallbackQuery) async throws {
        let chat = callback.message?.chat.id ?? callback.from.id
        let user = try await store.ensureUser(
            id: callback.from.id, firstName: callback.from.firstName, language: callback.from.languageCode ?? "ru",
            welcomeCredits: settings.welcomeCredits, now: time.now())
        var state = try await store.conversation(userId: user.id)
        let data = callback.data ?? ""
        do {
            guard let action = CallbackAction(data: data) else { throw AishaError.staleButton }
            var toast: String?
            switch action {
            case .createAvatar:
                state = ConversationState(step: .awaitingName)
                try await store.saveConversation(userId: user.id, state, now: time.now())
                try await reply(chat, Texts.askName)
            case .myAvatars:
                try await listAvatars(chat: chat, userId: user.id)
            case .gender(let gender):
                guard state.step == .awaitingGender else { throw AishaError.staleButton }
                var next = state
                next.pendingGender = gender
                next.step = .awaitingType
                try await claim(user.id, from: state, to: next)
                try await telegram.sendMessage(chatId: chat, text: Texts.askType, buttons: Texts.typeButtons)
            case .type(let type):
                guard state.step == .awaitingType, let name = state.pendingName,
                    let gender = state.pendingGender
                else { throw AishaError.staleButton }
                // The step is claimed before the avatar exists: a second tap that read the same state creates nothing.
                let id = UUID()
                let next = ConversationState(step: .uploadingPhotos, pendingType: type, avatarId: id)
                guard try await store.advanceConversation(userId: user.id, from: state, to: next, now: time.now()) else { throw AishaError.staleButton }
                try await createAvatar(id: id, owner: user.id, name: name, gender: gender, type: type)
                try await reply(chat, Texts.askPhotos(name: name, type: type))
            case .photosDone(let id):
                let avatar = try await ownedAvatar(id, user: user.id)
                guard state.step == .uploadingPhotos, state.avatarId == avatar.id, avatar.status == .draft || avatar.status == .uploading
                else { throw AishaError.staleButton }
                let count = try await store.photos(avatarId: avatar.id).count
                guard count >= TrainingRules.minPhotos else { throw AishaError.notEnoughPhotos(have: count) }
                let ready = try await store.updateAvatar(id: avatar.id, now: time.now()) { $0.status = .readyForTraining }
                try await showSummary(ready, chat: chat, user: user.id, from: callback.message?.messageId, state: &state)
            case .retrain(let id):
                let avatar = try await ownedAvatar(id, user: user.id)
                guard avatar.status == .error else { throw AishaError.staleButton }
                try await showSummary(avatar, chat: chat, user: user.id, from: callback.message?.messageId, state: &state)
            case .startTraining(let id):
                let avatar = try await ownedAvatar(id, user: user.id)
                guard state.step == .confirming, state.avatarId == avatar.id else {
                    throw avatar.status == .training ? AishaError.trainingAlreadyStarted : AishaError.staleButton
                }
                // "Started" goes through the outbox with the request id, so it always precedes the outcome's message.
                _ = try await training.start(avatarId: avatar.id, ownerId: user.id, fallbackType: state.pendingType)
                try await store.saveConversation(userId: user.id, ConversationState(), now: time.now())
            case .cancel(let id):
                let avatar = try await ownedAvatar(id, user: user.id)
                try await cancel(avatar, chat: chat, user: user.id, state: state, tapped: callback.message?.messageId)
            case .askCancel(let id):
                let avatar = try await ownedAvatar(id, user: user.id)
                guard avatar.status == .training else { throw AishaError.staleButton }
                // Claimed: a double tap asks once.
                try await claim(user.id, from: state, to: ConversationState(step: .confirmingCancel, avatarId: avatar.id))
                let (text, buttons) = Texts.askCancel(avatar, refund: try await charged(avatar))
                try await telegram.sendMessage(chatId: chat, text: text, buttons: buttons)
            case .keepTraining(let id):
                if state.step == .confirmingCancel, state.avatarId == id { try await claim(user.id, from: state, to: ConversationState()) }
                toast = Texts.trainingGoesOn
            case .generate, .generateWith, .style, .aspect, .imageCount, .confirmGeneration, .again, .gallery, .galleryOf:
                try await handleGeneration(action, chat: chat, user: user, state: state)
            }
            try? await telegram.answerCallbackQuery(id: callback.id, text: toast, chat: chat)
            // The step is taken: its keyboard goes, so an old button cannot be tapped by mistake.
            if action.finishesStep, let message = callback.message { try? await telegram.removeButtons(chatId: chat, messageId: message.messageId) }
        } catch AishaError.trainingCancelled {
            logger.info("training start ended: the user cancelled it", metadata: ["user_id": "\(user.id)"])
            try? await telegram.answerCallbackQuery(id: callback.id, chat: chat)
        } catch let error as AishaError {
            logger.info("button refused: \(error)", metadata: ["user_id": "\(user.id)", "data": "\(data)"])
            switch Self.refusal(error) {
            case .toast(let alert):
                try? await telegram.answerCallbackQuery(id: callback.id, text: Self.message(for: error), alert: alert, chat: chat)
            case .message:
                try? await telegram.answerCallbackQuery(id: callback.id, chat: chat)
                try await telegram.sendMessage(chatId: chat, text: Self.message(for: error), buttons: Self.buttons(for: error, action: CallbackAction(data: data)))
            }
        }
    }

    private func createAvatar(id: UUID, owner: Int64, name: String, gender: Gender, type: TrainingType) async throws {
        let now = time.now()
        let avatar = Avatar(
            id: id, ownerId: owner, name: name, gender: gender, trainingType: type, status: .draft, preset: settings.preset,
            trainingAttempt: 0, triggerWord: Avatar.triggerWord(for: id), progress: 0, createdAt: now, updatedAt: now)
        try await store.createAvatar(avatar)
        logger.info("avatar created", metadata: ["avatar_id": "\(id.uuidString.lowercased())", "training_type": "\(type.rawValue)"])
    }

    private func showSummary(_ avatar: Avatar, chat: Int64, user: Int64, from message: Int64?, state: inout ConversationState) async throws {
        let count = try await store.photos(avatarId: avatar.id).count
        let balance = try await store.user(id: user)?.balance ?? 0
        // Claimed: a double tap on "Готово" or "Обучить заново" shows one summary — the second finds the summary
        // already taken from that message. (A start that failed, or died, leaves the summary's state behind; a retrain
        // comes from another message, so it still shows the summary once.)
        var next = ConversationState(step: .confirming, pendingType: avatar.trainingType ?? state.pendingType, avatarId: avatar.id)
        next.takenFrom = message
        try await claim(user, from: state, to: next)
        state = next
        try await telegram.sendMessage(
            chatId: chat, text: Texts.summary(avatar: avatar, photos: count, cost: settings.cost, balance: balance),
            buttons: Texts.confirmButtons(avatar.id))
    }

    /// Cancels an avatar. A training FAL has already finished is not cancelled (the result is paid for and lands
    /// with its webhook); one whose submit has not been answered yet is failed here, so the start sends nothing more,
    /// and refunded, since nothing is paid at FAL. The cancel is claimed on the conversation first: of a double tap
    /// on "Да, отменить" one cancels, the other is told by toast. Either way the cancel button of "training started"
    /// has nothing left to do and goes.
    private func cancel(_ avatar: Avatar, chat: Int64, user: Int64, state: ConversationState, tapped: Int64?) async throws {
        guard !avatar.status.isFinal else { throw AishaError.staleButton }
        try await claim(user, from: state, to: ConversationState(avatarId: avatar.id))
        if avatar.status == .training {
            if let requestId = avatar.falRequestId, let app = avatar.trainerApp {
                let code = try? await fal.cancel(app: app, requestId: requestId)
                logger.info("cancel sent to FAL", metadata: ["request_id": "\(requestId)", "http_status": "\(code.map(String.init) ?? "-")"])
                if code == 400, !defects.contains(.cancelDropsCompleted) {
                    try await store.saveConversation(userId: user, ConversationState(), now: time.now())
                    await retireCancelButton(avatar, chat: chat, tapped: tapped)
                    try await telegram.sendMessage(chatId: chat, text: Texts.cancelTooLate(avatar), buttons: [])
                    return
                }
            }
            let ended = try await store.abortTraining(
                avatarId: avatar.id, attempt: avatar.trainingAttempt, error: "cancelled by the user", status: .cancelled, notification: nil, now: time.now())
            guard ended else {
                // The outcome landed meanwhile: its own message tells the user.
                try await store.saveConversation(userId: user, ConversationState(), now: time.now())
                throw AishaError.staleButton
            }
        } else {
            try await store.updateAvatar(id: avatar.id, now: time.now()) { $0.status = .cancelled }
        }
        try await store.saveConversation(userId: user, ConversationState(), now: time.now())
        if avatar.status == .training { await retireCancelButton(avatar, chat: chat, tapped: tapped) }
        let refunded = avatar.status == .training ? try await charged(avatar) : 0
        try await telegram.sendMessage(chatId: chat, text: refunded > 0 ? Texts.cancelledRefunded(refunded) : Texts.cancelled, buttons: Texts.mainMenuButtons)
    }

    private func retireCancelButton(_ avatar: Avatar, chat: Int64, tapped: Int64?) async {
        do {
            try await training.notifier.retireKeyboard(of: Texts.startedKey(avatar.id, attempt: avatar.trainingAttempt), chat: chat, tapped: tapped)
        } catch {
            logger.info("the cancel button of 'training started' stays (a tap on it is answered as stale): \(error)", metadata: ["chat_id": "\(chat)"])
        }
    }

    /// The credits the avatar's current training attempt was charged (what a cancel gives back).
    private func charged(_ avatar: Avatar) async throws -> Int {
        try await store.ledger(userId: avatar.ownerId)
            .filter { $0.avatarId == avatar.id && $0.attempt == avatar.trainingAttempt && $0.kind == .charge }
            .reduce(0) { $0 - $1.amount }
    }

    func ownedAvatar(_ id: UUID, user: Int64) async throws -> Avatar {
        guard let avatar = try await store.avatar(id: id) else { throw AishaError.avatarNotFound }
        guard avatar.ownerId == user else { throw AishaError.notYourAvatar }
        return avatar
    }

    private func listAvatars(chat: Int64, userId: Int64) async throws {
        let avatars = try await store.avatars(ownerId: userId)
        try await telegram.sendMessage(
            chatId: chat, text: avatars.isEmpty ? Texts.noAvatars : Texts.avatarList(avatars), buttons: Texts.avatarListButtons(avatars))
    }

    func reply(_ chat: Int64, _ text: String) async throws {
        try await telegram.sendMessage(chatId: chat, text: text)
    }

    static func message(for error: AishaError) -> String {
        switch error {
        case .notYourAvatar: Texts.notYourAvatar
        case .avatarNotFound: Texts.avatarNotFound
        case .staleButton: Texts.staleButton
        case .notEnoughPhotos(let have): Texts.notEnoughPhotos(have)
        case .insufficientCredits(let balance, let cost): Texts.insufficientCredits(balance: balance, cost: cost)
        case .trainingAlreadyStarted: Texts.alreadyTraining
        case .noArchive: Texts.noArchive
        case .falRejected(let detail): Texts.falRejected(detail)
        case .falUnavailable: Texts.falUnavailable
        case .submitUnconfirmed: Texts.submitUnconfirmed
        case .photoRejected(let why): Texts.photoRejected(why)
        case .tooManyPhotos: Texts.photoRejected(Texts.photoLimit)
        case .trainingCancelled: Texts.cancelled
        case .avatarNotReady(let status): Texts.avatarNotReady(status)
        case .promptEmpty: Texts.promptEmpty
        case .promptTooLong(let length): Texts.promptTooLong(length)
        case .generationRunning: Texts.generationRunning
        }
    }

    /// How a refused tap is answered.
    enum Refusal: Equatable {
        /// The tap's own answer: a short toast, or an alert the user must dismiss.
        case toast(alert: Bool)
        /// A chat message (it carries buttons, or more than a toast holds).
        case message
    }

    static func refusal(_ error: AishaError) -> Refusal {
        switch error {
        case .staleButton, .trainingAlreadyStarted, .generationRunning: .toast(alert: false)
        case .notYourAvatar, .avatarNotFound, .avatarNotReady, .notEnoughPhotos: .toast(alert: true)
        case .insufficientCredits, .noArchive, .falRejected, .falUnavailable, .submitUnconfirmed, .photoRejected, .tooManyPhotos, .trainingCancelled,
            .promptEmpty, .promptTooLong:
            .message
        }
    }

    static func buttons(for error: AishaError, action: CallbackAction?) -> [[Button]] {
        switch (error, action) {
        case (.falRejected, .startTraining(let id)?), (.falUnavailable, .startTraining(let id)?), (.falRejected, .retrain(let id)?),
            (.falUnavailable, .retrain(let id)?):
            return Texts.retryButtons(id)
        default:
            return []
        }
    }
}
