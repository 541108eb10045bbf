import Foundation
import Logging
import SupportKit

/// Settings the training start needs.
public struct TrainingSettings: Sendable {
    public var cost: Int
    public var styleTrainer: StyleTrainer
    public var endpoint: PublicEndpoint
    public var archiveURLLifetime: TimeInterval = 24 * 3600
    /// Tries of a submit that FAL answers with 5xx/429 or not at all.
    public var submitAttempts = 3
}

/// What a started training submitted.
public struct StartedTraining: Sendable, Hashable {
    public var avatar: Avatar
    public var type: TrainingType
    public var plan: TrainerPlan
    public var requestId: String
}

/// The points of AishaSystem's work that leave something behind, where tests stop the process as a crash would.
public enum Checkpoint: Sendable, Hashable {
    /// Credits charged and the avatar marked `training`.
    case charged
    /// The archive is stored and its URL made.
    case archiveBuilt
    /// FAL accepted the submit; its request id is not stored yet.
    case submitted
    /// A notification went to Telegram; the outbox does not know yet (it will send it again after the claim lease).
    case notificationSent
}

/// Starts trainings: type from the stored avatar, a real archive URL, the preset's input, one paid submission.
public struct TrainingService: Sendable {
    let store: any AvatarStore
    let objects: any ObjectStore
    let fal: FALClient
    let signer: ArchiveURLSigner
    /// Sends the "started" message, queued with the request id.
    let notifier: Notifier
    let settings: TrainingSettings
    let time: TimeSource
    let logger: Logger
    let metrics: AishaMetrics
    var defects: Set<InjectedDefect> = []
    /// Called at each checkpoint; a throw there ends the start with no clean-up, as a crash would (tests only).
    var checkpoint: @Sendable (Checkpoint) async throws -> Void = { _ in }

    /// `fallbackType` is the conversation's choice, used only when the avatar row has no type (seed bug 1).
    public func start(avatarId: UUID, ownerId: Int64, fallbackType: TrainingType?) async throws -> StartedTraining {
        var logger = logger
        logger[metadataKey: "avatar_id"] = "\(avatarId.uuidString.lowercased())"
        guard let stored = try await store.avatar(id: avatarId) else { throw AishaError.avatarNotFound }
        guard stored.ownerId == ownerId else { throw AishaError.notYourAvatar }
        let type: TrainingType
        if let fromDatabase = stored.trainingType {
            type = fromDatabase
            logger.info("🎯 Тип обучения из БД: \(type.rawValue)")
        } else if let fromState = fallbackType {
            type = fromState
            logger.warning("⚠️ Тип обучения из состояния: \(type.rawValue)")
            try await store.updateAvatar(id: avatarId, now: time.now()) { $0.trainingType = fromState }
        } else {
            throw AishaError.staleButton
        }
        let trainerApp = type == .style ? settings.styleTrainer.appId : "fal-ai/flux-lora-portrait-trainer"
        let ticket = try await store.beginTraining(avatarId: avatarId, ownerId: ownerId, cost: settings.cost, trainerApp: trainerApp, now: time.now())
        let avatar = ticket.avatar
        try await checkpoint(.charged)
        let archiveURL: String
        do {
            let photos = try await store.photos(avatarId: avatarId)
            let key = try await ArchiveBuilder(objects: objects).build(avatarId: avatarId, attempt: ticket.attempt, photos: photos)
            let expires = time.now().addingTimeInterval(settings.archiveURLLifetime)
            archiveURL = try objects.downloadURL(key: key, expires: expires) ?? signer.url(forKey: key, expires: expires)
        } catch {
            logger.error("training archive not built: \(error)")
            try await store.abortTraining(
                avatarId: avatarId, attempt: ticket.attempt, error: "\(error)", status: .readyForTraining, notification: nil, now: time.now())
            throw error as? AishaError ?? AishaError.noArchive("\(error)")
        }
        try await checkpoint(.archiveBuilt)
        let plan = try TrainerPresets.plan(type: type, preset: avatar.preset, styleTrainer: settings.styleTrainer, archiveURL: archiveURL, avatar: avatar)
        logger.info("🎯 Запуск обучения аватара \(avatarId.uuidString.lowercased()) с типом: \(type.rawValue)", metadata: ["app": "\(plan.app)"])
        // The avatar and attempt ride along, so a webhook that beats the submit's answer can still be matched.
        let webhook =
            "\(settings.endpoint.url)/api/v1/avatar/status_update?avatar_id=\(avatarId.uuidString.lowercased())&attempt=\(ticket.attempt)&training_type=\(type.rawValue)"
        do {
            try await store.markSubmitting(avatarId: avatarId, attempt: ticket.attempt, now: time.now())
            let submission = try await submitWithRetries(plan: plan, webhook: webhook, avatarId: avatarId, attempt: ticket.attempt, logger: logger)
            try await checkpoint(.submitted)
            try await store.recordSubmission(
                avatarId: avatarId, attempt: ticket.attempt, requestId: submission.requestId,
                announcement: defects.contains(.startedOutsideTransaction) ? nil : Texts.startedNotice(avatar, type: type, attempt: ticket.attempt),
                now: time.now())
            metrics.trainingStarted(app: plan.app, type: type)
            guard try await isStillTraining(avatarId, attempt: ticket.attempt) else {
                // Cancelled while the submit was on its way: FAL's job is nobody's now, so it is cancelled there too.
                let code = try? await fal.cancel(app: plan.app, requestId: submission.requestId)
                logger.warning("cancelled during the submit; FAL's job cancelled too", metadata: [
                    "request_id": "\(submission.requestId)", "http_status": "\(code.map(String.init) ?? "-")",
                ])
                throw AishaError.trainingCancelled
            }
            await notifier.kick()
            if defects.contains(.startedOutsideTransaction) {
                let notice = Texts.startedNotice(avatar, type: type, attempt: ticket.attempt)
                _ = try? await notifier.telegram.call("sendMessage", TelegramClient.messageParameters(chatId: notice.chatId, text: notice.text, buttons: []))
            }
            logger.info("\(plan.launchLog)", metadata: ["request_id": "\(submission.requestId)"])
            return StartedTraining(avatar: avatar, type: type, plan: plan, requestId: submission.requestId)
        } catch AishaError.trainingCancelled {
            throw AishaError.trainingCancelled
        } catch FALError.noAnswer(let detail) {
            // FAL may have the job: no retry (a second paid job) and no refund yet. Its webhook binds the request id
            // through the URL; without one the poller fails and refunds it after SUBMISSION_TIMEOUT.
            logger.warning("FAL did not answer the submit (\(detail)); waiting for its webhook")
            throw AishaError.submitUnconfirmed
        } catch let error as FALError {
            logger.error("FAL submit failed: \(error)")
            try await store.abortTraining(avatarId: avatarId, attempt: ticket.attempt, error: error.description, status: .error, notification: nil, now: time.now())
            switch error {
            case .rejected(_, let detail): throw AishaError.falRejected(detail)
            case .unavailable, .noAnswer: throw AishaError.falUnavailable(error.description)
            }
        }
    }

    /// Retries 5xx/429/no answer, waiting `Retry-After` (capped at 60 s) or 2, 4, 8… s on the clock; stops when the
    /// training was cancelled meanwhile.
    private func submitWithRetries(plan: TrainerPlan, webhook: String, avatarId: UUID, attempt training: Int, logger: Logger) async throws -> FALSubmission {
        var attempt = 1
        while true {
            if attempt > 1, try await !isStillTraining(avatarId, attempt: training) { throw AishaError.trainingCancelled }
            do {
                return try await fal.submit(app: plan.app, input: plan.input, webhookURL: webhook)
            } catch let error as FALError where error.isRetryable && attempt < settings.submitAttempts {
                var wait = Double(1 << attempt)
                if case .unavailable(_, _, let retryAfter?) = error { wait = Double(min(max(retryAfter, 1), 60)) }
                logger.warning("FAL submit attempt \(attempt) failed (\(error)); retrying in \(Int(wait)) s")
                try await time.sleep(for: .seconds(wait))
                attempt += 1
            }
        }
    }

    private func isStillTraining(_ avatarId: UUID, attempt: Int) async throws -> Bool {
        guard let avatar = try await store.avatar(id: avatarId) else { return false }
        return avatar.status == .training && avatar.trainingAttempt == attempt
    }
}
