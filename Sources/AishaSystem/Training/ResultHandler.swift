import Foundation
import Logging
import SupportKit

/// Applies training outcomes (webhook or poller) exactly once and queues the user's notification.
public struct ResultHandler: Sendable {
    let store: any AvatarStore
    let notifier: Notifier
    let time: TimeSource
    let logger: Logger
    let metrics: AishaMetrics
    var defects: Set<InjectedDefect> = []

    /// Applies a report. `attempt` names the training the webhook URL was made for: a report whose request id is
    /// not stored yet (FAL answered the webhook before the submit's response was recorded) is bound to it first.
    @discardableResult
    public func apply(_ report: StatusReport, attempt: (avatarId: UUID, number: Int)? = nil) async throws -> OutcomeApplication? {
        let application = try await applyOnce(report)
        guard case .unknownRequest? = application, let attempt else { return application }
        // Bound here, the training is announced here too: its "started" message then precedes the outcome's.
        let avatar = try await store.avatar(id: attempt.avatarId)
        let announcement = avatar.flatMap { avatar in avatar.trainingType.map { Texts.startedNotice(avatar, type: $0, attempt: attempt.number) } }
        try await store.recordSubmission(
            avatarId: attempt.avatarId, attempt: attempt.number, requestId: report.requestId, announcement: announcement, now: time.now())
        guard try await store.avatar(requestId: report.requestId) != nil else { return application }
        logger.info(
            "status update arrived before the submit's answer was stored; bound through the webhook URL",
            metadata: ["request_id": "\(report.requestId)", "avatar_id": "\(attempt.avatarId.uuidString.lowercased())"])
        return try await applyOnce(report)
    }

    private func applyOnce(_ report: StatusReport) async throws -> OutcomeApplication? {
        guard let outcome = report.outcome else {
            if let avatar = try await store.avatar(requestId: report.requestId), avatar.status == .training {
                try await store.touchTraining(avatarId: avatar.id, progress: nil, now: time.now())
            }
            return nil
        }
        let application = try await store.applyOutcome(requestId: report.requestId, outcome, now: time.now()) { avatar in
            let failed = avatar.status == .error
            return NotificationDraft(
                chatId: avatar.ownerId,
                text: failed ? Texts.failed(avatar, charged: true) : Texts.ready(avatar),
                buttons: failed ? Texts.retryButtons(avatar.id) : Texts.mainMenuButtons,
                dedupeKey: "outcome:\(report.requestId)", retires: Texts.startedKey(avatar.id, attempt: avatar.trainingAttempt))
        }
        var logger = logger
        logger[metadataKey: "request_id"] = "\(report.requestId)"
        switch application {
        case .applied(let avatar):
            metrics.trainingFinished(avatar)
            logger[metadataKey: "avatar_id"] = "\(avatar.id.uuidString.lowercased())"
            if avatar.status == .completed {
                logger.info("✅ training completed", metadata: ["finetune_id": "\(avatar.finetuneId ?? "-")", "lora": "\(avatar.loraURL ?? "-")"])
            } else {
                logger.warning("❌ training failed: \(avatar.errorText ?? "")")
            }
            if !defects.contains(.lostNotifierKick) { await notifier.kick() }
        case .alreadyFinal(let avatar):
            logger.info("duplicate or late status update ignored", metadata: ["status": "\(avatar.status.rawValue)"])
            if defects.contains(.duplicateWebhookTold), avatar.status == .completed {
                _ = try? await notifier.telegram.sendMessage(chatId: avatar.ownerId, text: Texts.ready(avatar), buttons: Texts.mainMenuButtons)
            }
        case .unknownRequest:
            logger.warning("status update for an unknown request id")
        }
        return application
    }
}
