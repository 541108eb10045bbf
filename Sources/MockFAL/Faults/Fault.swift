#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Misbehaviour MockFAL can be told to show, per request, per app or globally.
public struct Fault: Sendable, Codable, Hashable {
    /// The job fails once it reaches this step (the seed's "training stops at step 20").
    public var failAtStep: Int?
    /// The error text of a `failAtStep` failure.
    public var failMessage: String?
    /// The archive download fails with this reason, whatever the URL.
    public var archiveFetchFailure: String?
    /// The submit answers this HTTP status (5xx or 429) and creates no job.
    public var submitStatus: Int?
    /// `Retry-After` seconds sent with `submitStatus`.
    public var retryAfterSeconds: Int?
    /// What happens to the job's webhook.
    public var webhook: WebhookFault?
    /// Copies sent for `webhook: duplicate` (default 2).
    public var webhookCopies: Int?
    /// Delay before sending for `webhook: delay`.
    public var webhookDelaySeconds: Double?
    /// Queue API answers for the job are held back this long on the clock (slow responses).
    public var responseDelaySeconds: Double?
    /// The job waits this long in the queue (IN_QUEUE) before it fetches its archive, as on a busy FAL.
    public var queueSeconds: Double?
    /// Generation: these images (0-based) come back flagged `has_nsfw_concepts: true`.
    public var nsfwImages: [Int]?

    public init(
        failAtStep: Int? = nil, failMessage: String? = nil, archiveFetchFailure: String? = nil,
        submitStatus: Int? = nil, retryAfterSeconds: Int? = nil, webhook: WebhookFault? = nil,
        webhookCopies: Int? = nil, webhookDelaySeconds: Double? = nil, responseDelaySeconds: Double? = nil, queueSeconds: Double? = nil,
        nsfwImages: [Int]? = nil
    ) {
        self.failAtStep = failAtStep
        self.failMessage = failMessage
        self.archiveFetchFailure = archiveFetchFailure
        self.submitStatus = submitStatus
        self.retryAfterSeconds = retryAfterSeconds
        self.webhook = webhook
        self.webhookCopies = webhookCopies
        self.webhookDelaySeconds = webhookDelaySeconds
        self.responseDelaySeconds = responseDelaySeconds
        self.queueSeconds = queueSeconds
        self.nsfwImages = nsfwImages
    }

    enum CodingKeys: String, CodingKey {
        case failAtStep = "fail_at_step", failMessage = "fail_message", archiveFetchFailure = "archive_fetch_failure"
        case submitStatus = "submit_status", retryAfterSeconds = "retry_after_seconds", webhook
        case webhookCopies = "webhook_copies", webhookDelaySeconds = "webhook_delay_seconds"
        case responseDelaySeconds = "response_delay_seconds", queueSeconds = "queue_seconds", nsfwImages = "nsfw_images"
    }

    /// Fields set in `other` win.
    func merged(with other: Fault) -> Fault {
        Fault(
            failAtStep: other.failAtStep ?? failAtStep, failMessage: other.failMessage ?? failMessage,
            archiveFetchFailure: other.archiveFetchFailure ?? archiveFetchFailure,
            submitStatus: other.submitStatus ?? submitStatus, retryAfterSeconds: other.retryAfterSeconds ?? retryAfterSeconds,
            webhook: other.webhook ?? webhook, webhookCopies: other.webhookCopies ?? webhookCopies,
            webhookDelaySeconds: other.webhookDelaySeconds ?? webhookDelaySeconds,
            responseDelaySeconds: other.responseDelaySeconds ?? responseDelaySeconds, queueSeconds: other.queueSeconds ?? queueSeconds,
            nsfwImages: other.nsfwImages ?? nsfwImages)
    }
}

/// What happens to a job's webhook.
public enum WebhookFault: String, Sendable, Codable, Hashable, CaseIterable {
    /// Never sent (a lost webhook).
    case drop
    /// Sent `webhookCopies` times.
    case duplicate
    /// Sent after `webhookDelaySeconds`.
    case delay
    /// Held back until the next other webhook has been delivered (out of order).
    case reorder
}

/// A fault and where it applies. A rule with neither `app` nor `requestId` is global.
public struct FaultRule: Sendable, Codable, Hashable {
    /// App id (or prefix, e.g. `fal-ai/flux-pro-trainer`) the rule applies to.
    public var app: String?
    /// One request id; such a rule cannot carry `submitStatus` (the request exists only after submit).
    public var requestId: String?
    /// Applies to this many more matching submissions, then expires; nil = no limit.
    public var times: Int?
    /// Chance (0…1) that a matching submission gets the fault, drawn from the seeded generator.
    public var probability: Double?
    public var fault: Fault

    public init(app: String? = nil, requestId: String? = nil, times: Int? = nil, probability: Double? = nil, fault: Fault) {
        self.app = app
        self.requestId = requestId
        self.times = times
        self.probability = probability
        self.fault = fault
    }

    enum CodingKeys: String, CodingKey {
        case app, requestId = "request_id", times, probability, fault
    }

    func matches(appId: String) -> Bool {
        guard requestId == nil else { return false }
        guard let app else { return true }
        return appId == app || appId.hasPrefix(app + "/")
    }
}

/// SplitMix64: a small deterministic generator, so a seed reproduces every probabilistic fault.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
