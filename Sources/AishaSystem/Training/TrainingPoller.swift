import Foundation
import Logging
import ServiceLifecycle
import SupportKit

/// Asks FAL about trainings with no news for `staleAfter` (lost webhooks), every `interval` on the clock.
public struct TrainingPoller: Service {
    let store: any AvatarStore
    let fal: FALClient
    let results: ResultHandler
    let metrics: AishaMetrics
    /// Generations are polled on the same ticks.
    let generations: GenerationService
    let time: TimeSource
    let logger: Logger
    let interval: Duration
    let staleAfter: TimeInterval
    /// How long a training whose submit may have reached FAL waits for FAL's word before it is failed.
    let submissionTimeout: TimeInterval

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            // Counted work between its sleeps, so a poll finishes before the clock moves on. Ticks on a fixed grid of
            // absolute times: a poll that ends late does not push the next one back; missed ticks collapse into one.
            await time.work {
                var next = time.now().addingTimeInterval(interval.timeInterval)
                while !Task.isCancelled {
                    do { try await time.sleep(until: next) } catch { return }
                    await pollOnce()
                    next = max(next.addingTimeInterval(interval.timeInterval), time.now())
                }
            }
        }
    }

    /// One pass: unconfirmed submissions are failed and refunded, stale trainings and generations are asked about.
    public func pollOnce() async {
        await failUnconfirmed()
        await generations.pollUnfinished(before: time.now().addingTimeInterval(-interval.timeInterval))
        let stale: [Avatar]
        do {
            stale = try await store.staleTrainings(before: time.now().addingTimeInterval(-staleAfter))
        } catch {
            return logger.error("poller could not read trainings: \(error)")
        }
        for avatar in stale {
            guard let requestId = avatar.falRequestId, let app = avatar.trainerApp else { continue }
            do {
                let status = try await fal.status(app: app, requestId: requestId)
                guard status.status == "COMPLETED" else {
                    try await store.touchTraining(avatarId: avatar.id, progress: nil, now: time.now())
                    continue
                }
                let (code, body) = try await fal.result(app: app, requestId: requestId)
                let outcome: TrainingOutcome =
                    code == 200
                    ? StatusReport.outcome(fromOutput: body)
                    : .failed(message: status.error ?? FALClient.detail(body, Data()))
                logger.info("poller found a finished training", metadata: ["request_id": "\(requestId)"])
                metrics.pollerRecovered("training")
                try await results.apply(StatusReport(requestId: requestId, outcome: outcome))
            } catch {
                logger.warning("poll failed: \(error)", metadata: ["request_id": "\(requestId)"])
            }
        }
    }

    /// A training whose FAL request id was never stored cannot be asked about. Never sent (the process died before the
    /// submit): failed after `staleAfter`. Sent (it died after): FAL's webhook still finds it through the avatar and
    /// attempt in its URL; with no word for `submissionTimeout` it is failed. Either way with a refund and the user
    /// told once, so it is never stuck.
    func failUnconfirmed() async {
        do {
            let now = time.now()
            let unconfirmed = try await store.unconfirmedTrainings(
                pendingBefore: now.addingTimeInterval(-staleAfter), submittingBefore: now.addingTimeInterval(-submissionTimeout))
            for avatar in unconfirmed {
                let message = "the training was not confirmed by FAL"
                var failed = avatar
                failed.errorText = message
                try await store.abortTraining(
                    avatarId: avatar.id, attempt: avatar.trainingAttempt, error: message, status: .error,
                    notification: NotificationDraft(
                        chatId: avatar.ownerId, text: Texts.failed(failed, charged: true), buttons: Texts.retryButtons(avatar.id),
                        dedupeKey: "unconfirmed:\(avatar.id.uuidString.lowercased()):\(avatar.trainingAttempt)"),
                    now: time.now())
                logger.warning("unconfirmed training failed and refunded", metadata: ["avatar_id": "\(avatar.id.uuidString.lowercased())"])
                await results.notifier.kick()
            }
        } catch {
            logger.error("poller could not fail unconfirmed trainings: \(error)")
        }
    }
}
