import Foundation
import Logging
import SupportKit

/// Settings a generation needs.
public struct GenerationSettings: Sendable {
    /// Credits per image (`GENERATION_COST`).
    public var unitCost: Int
    public var endpoint: PublicEndpoint
    /// Largest image accepted from FAL.
    public var maxImageBytes = 20 * 1024 * 1024
}

/// Generates images with a completed avatar: one paid FAL job per request, images stored in the object store before
/// they are sent (the gallery outlives FAL's URLs), every image that does not come back refunded, the user told once.
public struct GenerationService: Sendable {
    let store: any AvatarStore
    let objects: any ObjectStore
    let fal: FALClient
    let telegram: TelegramClient
    /// What the user is told of a finished generation goes through the outbox, queued with the result.
    let notifier: Notifier
    let transport: any HTTPTransport
    let settings: GenerationSettings
    let time: TimeSource
    let logger: Logger

    /// Checks the request, charges it and submits it; the user is told it started.
    @discardableResult
    public func start(ownerId: Int64, avatarId: UUID, prompt raw: String, aspect: AspectRatio, count: Int) async throws -> Generation {
        guard let avatar = try await store.avatar(id: avatarId) else { throw AishaError.avatarNotFound }
        guard avatar.ownerId == ownerId else { throw AishaError.notYourAvatar }
        guard avatar.status == .completed else { throw AishaError.avatarNotReady(avatar.status) }
        let prompt = try Self.validate(raw)
        guard (1...GenerationRules.maxImages).contains(count) else { throw AishaError.staleButton }
        guard let plan = GenerationInputs.plan(avatar: avatar, prompt: prompt, aspect: aspect, count: count) else {
            throw AishaError.avatarNotReady(.error)
        }
        let now = time.now()
        let generation = Generation(
            id: UUID(), ownerId: ownerId, avatarId: avatarId, prompt: prompt, aspect: aspect, count: count, unitCost: settings.unitCost,
            app: plan.app, createdAt: now, updatedAt: now)
        var logger = logger
        logger[metadataKey: "avatar_id"] = "\(avatarId.uuidString.lowercased())"
        logger[metadataKey: "generation_id"] = "\(generation.id.uuidString.lowercased())"
        try await store.beginGeneration(generation, now: now)
        let webhook = "\(settings.endpoint.url)/api/v1/generation/status_update?generation_id=\(generation.id.uuidString.lowercased())"
        do {
            let submission = try await fal.submit(app: plan.app, input: plan.input, webhookURL: webhook)
            try await store.recordGenerationSubmission(id: generation.id, requestId: submission.requestId, now: time.now())
            logger.info("generation submitted", metadata: ["app": "\(plan.app)", "request_id": "\(submission.requestId)"])
        } catch let error as FALError {
            logger.error("generation submit failed: \(error)")
            _ = try await store.finishGeneration(
                id: generation.id, status: .failed, images: [], refundImages: count, error: error.description, notifications: [], now: time.now())
            if case .rejected(_, let detail) = error { throw AishaError.falRejected(detail) }
            throw AishaError.falUnavailable(error.description)
        }
        try await telegram.sendMessage(chatId: ownerId, text: Texts.generationStarted(count: count))
        return generation
    }

    static func validate(_ raw: String) throws -> String {
        let prompt = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !prompt.isEmpty else { throw AishaError.promptEmpty }
        guard prompt.count <= GenerationRules.maxPromptLength else { throw AishaError.promptTooLong(prompt.count) }
        return prompt
    }

    /// What applying a report did.
    public enum Application: Sendable, Equatable {
        case applied(GenerationStatus)
        case alreadyFinal
        case unknown
    }

    /// Applies FAL's report once: images downloaded and stored; NSFW-flagged and missing ones refunded; the images and
    /// the outcome queued for the user with the result, so a Telegram failure or a restart loses neither.
    @discardableResult
    public func apply(_ report: GenerationReport, generationId: UUID? = nil) async throws -> Application {
        var found: Generation?
        if let generationId { found = try await store.generation(id: generationId) }
        if found == nil { found = try await store.generation(requestId: report.requestId) }
        guard let generation = found else { return .unknown }
        guard !generation.status.isFinal else { return .alreadyFinal }
        var logger = logger
        logger[metadataKey: "generation_id"] = "\(generation.id.uuidString.lowercased())"
        logger[metadataKey: "request_id"] = "\(report.requestId)"
        guard let images = report.images, report.error == nil else {
            let told = Self.failureNotice(generation, refund: generation.count * generation.unitCost)
            guard try await store.finishGeneration(
                id: generation.id, status: .failed, images: [], refundImages: generation.count, error: report.error, notifications: [told], now: time.now())
            else { return .alreadyFinal }
            logger.warning("generation failed: \(report.error ?? "-")")
            await notifier.kick()
            return .applied(.failed)
        }
        var stored: [GeneratedImage] = []
        var withheld = 0
        for (position, image) in images.prefix(generation.count).enumerated() {
            if image.nsfw {
                withheld += 1
                continue
            }
            do {
                let data = try await download(image.url)
                guard let probe = ImageProbe.probe(data) else { throw AishaError.photoRejected("not an image") }
                let key = "generations/\(generation.id.uuidString.lowercased())/\(position).\(probe.format.rawValue)"
                try await objects.put(data, key: key)
                stored.append(GeneratedImage(generationId: generation.id, position: position, objectKey: key, width: probe.width, height: probe.height))
            } catch {
                logger.warning("generated image \(position) not stored: \(error)")
            }
        }
        let missing = generation.count - stored.count
        let status: GenerationStatus = stored.isEmpty ? .failed : .completed
        let key = "generation-\(generation.id.uuidString.lowercased())"
        let told =
            stored.isEmpty
            ? [Self.failureNotice(generation, refund: missing * generation.unitCost)]
            : [
                NotificationDraft(
                    chatId: generation.ownerId, text: Texts.generationCaption(generation.prompt), dedupeKey: key + "-images", photos: stored.map(\.objectKey)),
                NotificationDraft(
                    chatId: generation.ownerId, text: Texts.generationDone(delivered: stored.count, withheld: missing, refund: missing * generation.unitCost),
                    buttons: Texts.afterGenerationButtons(generation: generation.id, avatar: generation.avatarId), dedupeKey: key + "-done"),
            ]
        guard try await store.finishGeneration(
            id: generation.id, status: status, images: stored, refundImages: missing,
            error: stored.isEmpty ? "no image came back" : nil, notifications: told, now: time.now())
        else { return .alreadyFinal }
        logger.info("generation finished", metadata: ["stored": "\(stored.count)", "withheld": "\(withheld)", "refunded_images": "\(missing)"])
        await notifier.kick()
        return .applied(status)
    }

    private static func failureNotice(_ generation: Generation, refund: Int) -> NotificationDraft {
        NotificationDraft(
            chatId: generation.ownerId, text: Texts.generationFailed(refund: refund), dedupeKey: "generation-\(generation.id.uuidString.lowercased())-failed")
    }

    private func download(_ url: String) async throws -> Data {
        let response = try await transport.send(OutgoingRequest(url: url, timeout: .seconds(60), maxResponseBytes: settings.maxImageBytes))
        guard response.status == 200 else { throw FALError.unavailable(status: response.status, detail: "image download", retryAfter: nil) }
        return response.body
    }
}


extension GenerationService {
    /// Lost webhooks: generations with no news since `before` are asked about at FAL and applied; one whose submit
    /// never got an answer is failed and refunded.
    func pollUnfinished(before: Date) async {
        let unfinished: [Generation]
        do {
            unfinished = try await store.unfinishedGenerations(before: before)
        } catch {
            return logger.error("poller could not read generations: \(error)")
        }
        for generation in unfinished {
            do {
                guard let requestId = generation.requestId else {
                    try await apply(GenerationReport(requestId: "", images: nil, error: "the generation was not confirmed by FAL"), generationId: generation.id)
                    continue
                }
                let status = try await fal.status(app: generation.app, requestId: requestId)
                guard status.status == "COMPLETED" else { continue }
                let (code, body) = try await fal.result(app: generation.app, requestId: requestId)
                let report =
                    code == 200
                    ? GenerationReport.result(requestId: requestId, body)
                    : GenerationReport(requestId: requestId, images: nil, error: status.error ?? FALClient.detail(body, Data()))
                logger.info("poller found a finished generation", metadata: ["request_id": "\(requestId)"])
                try await apply(report, generationId: generation.id)
            } catch {
                logger.warning("generation poll failed: \(error)", metadata: ["generation_id": "\(generation.id.uuidString.lowercased())"])
            }
        }
    }
}
