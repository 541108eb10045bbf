import AishaSystem
import Foundation
import Synchronization
import MockFAL
import SupportKit

/// One scripted conversation, parsed from a YAML file in `scenarios/`.
public struct Scenario: Sendable {
    public var name: String
    public var file: String
    public var line: Int
    public var reproduces: String?
    public var description: String?
    public var users: [ScenarioUser]
    public var config: ScenarioConfig
    public var fal: FALSettings
    public var faults: [FaultRule]
    public var steps: [Step]
    /// What the scenario needs of its backends beyond the basics; a run whose backends lack it skips the scenario.
    public var needs: Set<ScenarioNeed> = []
    /// Opted in to staging runs against the real FAL, which cost money (`staging: true`).
    public var staging = false
    /// Invariants this scenario breaks on purpose (`allow: [name]`), e.g. the legacy dev-mode curl.
    public var allowed: Set<Invariant> = []
    /// The run ends with everything settled (explore lets hours pass), so every training must have finished; and its
    /// user, not knowing when the bot will answer, waits for a button that has not come yet instead of giving up.
    public var settles = false
    /// AishaSystem dies the first time a training start reaches this point (`crash_at`), and is started again after
    /// the step: what a crash between two writes, or between FAL's answer and its storage, leaves behind.
    public var crashAt: CrashPoint?
    /// Expectations explore took out of the steps: what they asked for (a refusal FAL gave) still counts as asked.
    var setAside: [Step] = []

    /// The first user, the default actor of every step.
    public var mainUser: ScenarioUser { users[0] }
}

/// Behaviour of the backends a scenario can depend on.
public enum ScenarioNeed: String, Sendable, Hashable, CaseIterable {
    /// Archive download URLs stop working when they expire (AishaSystem's own signed URLs and real S3 do;
    /// moto's S3 server ignores presigned-URL expiry).
    case expiringArchiveURLs = "expiring_archive_urls"
}

/// AishaSystem settings a scenario may change.
public struct ScenarioConfig: Sendable {
    public var preset = TrainingPreset.balanced
    public var styleTrainer = StyleTrainer.fluxProTrainer
    public var cost = 150
    public var welcomeCredits: Int?
    public var webhookVerify = true
    public var pollInterval: Duration = .seconds(60)
    public var staleAfter: Duration = .seconds(600)
}

/// MockFAL settings of a scenario.
public struct FALSettings: Sendable {
    public var mode = ValidationMode.strict
    public var step: Duration = .seconds(1)
    public var stepsToWebhook: Int?
    public var refuseDeprecated = false
}

/// A step and where it stands in its file.
public struct Step: Sendable {
    public var line: Int
    public var action: StepAction
    /// The step as written (for reports).
    public var summary: String
}

/// Generated photos: how many, how big, which format, and how they are broken.
public struct PhotoSpec: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// `bomb`: a PNG header claiming the size with almost no data (decompression-bomb-like).
        case normal, broken, empty, duplicate, huge, bomb
    }
    public var count = 1
    public var width = 1024
    public var height = 1024
    public var kind = Kind.normal
    public var format = ImageFormat.png
    public var album = false
    /// As a document (uncompressed file) rather than a photo.
    public var asDocument = false
    public var fileName: String?
}

/// The file format of generated photos.
public enum ImageFormat: String, Sendable, CaseIterable {
    case png, jpeg

    /// A valid image of that size whose bytes depend on `seed`. Generated once per process: scenarios (and every
    /// bench run) ask for the same seeds again, and encoding cost more than a tenth of a run's photo step.
    public func image(width: Int, height: Int, seed: UInt64) -> Data {
        let key = GeneratedImage(format: self, width: width, height: height, seed: seed)
        if let cached = generatedImages.withLock({ $0.images[key] }) { return cached }
        let data: Data
        switch self {
        case .png: data = PNGEncoder.bilevel(width: width, height: height, seed: seed)
        case .jpeg: data = JPEGEncoder.grey(width: width, height: height, seed: seed)
        }
        generatedImages.withLock { cache in
            guard cache.bytes + data.count <= GeneratedImage.cacheLimit else { return }
            cache.images[key] = data
            cache.bytes += data.count
        }
        return data
    }

    public var fileExtension: String { self == .png ? "png" : "jpg" }
    public var mimeType: String { self == .png ? "image/png" : "image/jpeg" }
}

/// What a message expectation checks.
public struct MessageExpectation: Sendable {
    public var contains: String?
    public var equals: String?
    public var regex: String?
    public var buttons: [String]?
    /// The bot edited the message (its latest text and buttons are checked); it may be the one matched last.
    public var edited = false
    public var timeout: Duration = .seconds(5)
}

/// What a FAL submit expectation checks.
public struct SubmitExpectation: Sendable {
    public var app: String?
    public var input: [String: JSONValue] = [:]
    public var absent: [String] = []
    public var webhookQuery: [String: String] = [:]
    public var verdict: Verdict?
    /// Which submit: 1-based, negative from the end (default -1, the latest).
    public var index = -1
}

/// What an avatar expectation checks (latest avatar of the user).
public struct AvatarExpectation: Sendable {
    public var fields: [String: JSONValue] = [:]
    public var timeout: Duration = .seconds(5)
}

public enum StepAction: Sendable {
    case send(String, user: Int64?, background: Bool)
    case tap(String, user: Int64?, background: Bool, on: MessageChoice = .latest)
    case callback(String, user: Int64?)
    case photos(PhotoSpec, user: Int64?)
    case advance(Duration)
    /// Lets time pass until nothing is left to happen (at most this long).
    case settle(atMost: Duration)
    case restart
    /// A second AishaSystem starts on the same database and storage; updates alternate between the two.
    case secondInstance
    case falFault(FaultRule)
    case telegramFault(TelegramFault)
    case blockBot(user: Int64?)
    case postWebhook(body: JSONValue, signed: Bool, expectStatus: Int?)
    case expectMessage(MessageExpectation, user: Int64?)
    case expectNoMessage(contains: String?, user: Int64?)
    case expectFALSubmit(SubmitExpectation)
    case expectFALCalls(app: String?, kind: CallKind, count: Int, status: Int?)
    case expectAvatar(AvatarExpectation, user: Int64?)
    case expectLog(contains: String, absent: Bool)
    case expectWebhook(delivered: Int?, attempts: Int?, signatureOK: Bool?)
    case expectCredits(balance: Int?, ledger: [String]?, user: Int64?)
    case expectTelegramCall(method: String, status: Int?, count: Int?)
    /// The answer to the user's latest tap: its toast text (contains), an alert or not.
    case expectToast(contains: String?, alert: Bool?, user: Int64?)
    case expectFALJob(fields: [String: JSONValue], index: Int)

    /// Steps that need MockFAL (its journal, faults or clock): skipped when an external system talks to FAL itself.
    var needsMockFAL: Bool {
        switch self {
        case .advance, .settle, .restart, .secondInstance, .falFault, .postWebhook, .expectFALSubmit, .expectFALCalls, .expectWebhook, .expectFALJob: true
        case .send, .tap, .callback, .photos, .telegramFault, .blockBot, .expectMessage, .expectNoMessage, .expectAvatar, .expectLog,
            .expectCredits, .expectTelegramCall, .expectToast:
            false
        }
    }

    /// An `expect_*` step.
    var isExpectation: Bool {
        switch self {
        case .expectMessage, .expectNoMessage, .expectFALSubmit, .expectFALCalls, .expectAvatar, .expectLog, .expectWebhook, .expectCredits,
            .expectTelegramCall, .expectToast, .expectFALJob:
            true
        case .send, .tap, .callback, .photos, .advance, .settle, .restart, .secondInstance, .falFault, .telegramFault, .blockBot, .postWebhook: false
        }
    }

    /// A step that moves the clock.
    var isAdvance: Bool {
        switch self {
        case .advance, .settle: true
        case .send, .tap, .callback, .photos, .restart, .secondInstance, .falFault, .telegramFault, .blockBot, .postWebhook, .expectMessage, .expectNoMessage,
            .expectFALSubmit, .expectFALCalls, .expectAvatar, .expectLog, .expectWebhook, .expectCredits, .expectTelegramCall, .expectToast,
            .expectFALJob:
            false
        }
    }

    /// A user's update the bot answers before the next step runs (not one left running with `background: true`).
    var isForegroundUpdate: Bool {
        switch self {
        case .send(_, _, let background), .tap(_, _, let background, _): !background
        case .callback, .photos: true
        case .advance, .settle, .restart, .secondInstance, .falFault, .telegramFault, .blockBot, .postWebhook, .expectMessage, .expectNoMessage, .expectFALSubmit,
            .expectFALCalls, .expectAvatar, .expectLog, .expectWebhook, .expectCredits, .expectTelegramCall, .expectToast, .expectFALJob:
            false
        }
    }
}

/// What a generated image is made from.
private struct GeneratedImage: Hashable {
    let format: ImageFormat
    let width: Int
    let height: Int
    let seed: UInt64
    /// The cache stops growing here (a suite needs a few megabytes).
    static let cacheLimit = 64 * 1024 * 1024
}

private let generatedImages = Mutex<(images: [GeneratedImage: Data], bytes: Int)>(([:], 0))

/// Where AishaSystem can be made to die (`crash_at`): inside a training start, or between a notification's send and its mark.
public enum CrashPoint: String, Sendable, Hashable, CaseIterable {
    /// Credits charged and the avatar marked `training`; nothing sent to FAL.
    case charged
    /// The archive stored and its URL made; nothing sent to FAL.
    case archiveBuilt = "archive_built"
    /// FAL accepted the submit; its request id is not stored.
    case submitted
    /// The first notification from the outbox reached Telegram; it is not marked sent.
    case notificationSent = "notification_sent"

    var checkpoint: Checkpoint {
        switch self {
        case .charged: .charged
        case .archiveBuilt: .archiveBuilt
        case .submitted: .submitted
        case .notificationSent: .notificationSent
        }
    }
}
