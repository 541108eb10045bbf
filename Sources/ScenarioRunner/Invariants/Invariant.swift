import AishaSystem
import Foundation
import MockFAL

/// A property that must hold after every scenario run, whatever the scenario says. A scenario that breaks one on
/// purpose names it in `allow:`.
public enum Invariant: String, Sendable, Hashable, CaseIterable {
    /// Every user's balance is grants − charges + refunds, and never negative.
    case ledgerBalanced = "ledger-balanced"
    /// Per training attempt at most one charge and one refund, a refund only after a charge; a completed attempt
    /// keeps its charge.
    case chargeOncePerAttempt = "charge-once-per-attempt"
    /// At most one job at FAL per training attempt.
    case onePaidJobPerAttempt = "one-paid-job-per-attempt"
    /// No job FAL finished (or still runs) that no avatar owns: a paid result that was thrown away.
    case noOrphanPaidJob = "no-orphan-paid-job"
    /// Avatar statuses move only forward (a retrain after an error, an archive failure back to ready, excepted).
    case stateForward = "state-forward"
    /// A completed avatar's finetune id or LoRA URL is what FAL returned for its own request.
    case resultFromOwnJob = "result-from-own-job"
    /// Each outcome is told to its owner once, after "training started", and to nobody else.
    case outcomeToldOnce = "outcome-told-once"
    /// Every generation job FAL received used its own avatar's finetune or LoRA, with the avatar's trigger word, for
    /// the avatar's owner.
    case generationUsesOwnAvatar = "generation-uses-own-avatar"
    /// At most one FAL job per generation, none without one; credits: each generation charged count × price once,
    /// and every image that did not come back refunded.
    case generationPaidOnce = "generation-paid-once"
    /// Each outcome goes to Telegram within 30 s (virtual) of being stored: no notification waits for a timer.
    case outcomeToldPromptly = "outcome-told-promptly"
    /// Nothing is sent to a chat after its 403.
    case silentAfterBlock = "silent-after-403"
    /// Every submit FAL received met its contract, unless an expectation asked for a refusal.
    case submitsMeetContract = "submits-meet-contract"
    /// The archive FAL downloaded holds exactly the avatar's stored photos.
    case archiveHoldsPhotos = "archive-holds-photos"
    /// No FAL or Telegram call was refused (4xx) unless a fault or an expectation asked for it.
    case noUnaskedRefusal = "no-unasked-refusal"
    /// No Telegram retry came before the `retry_after` it was given.
    case retryAfterRespected = "retry-after-respected"
    /// Liveness, once everything has settled (explore): every training that started reached a final state, and a
    /// failure was told to its owner.
    case trainingsFinish = "trainings-finish"
}

/// An invariant that did not hold: which, for whom, and the evidence.
public struct Violation: Sendable, Hashable, CustomStringConvertible {
    public var invariant: Invariant
    public var subject: String
    public var evidence: String

    public var description: String { "\(invariant.rawValue) [\(subject)]: \(evidence)" }
}

/// What the invariants read after a run: stored state, FAL's jobs and journal, Telegram's messages and calls, and
/// what the scenario itself asked for.
struct RunEvidence: Sendable {
    struct Account: Sendable {
        var user: User
        var ledger: [LedgerEntry]
        var avatars: [(avatar: Avatar, photos: Int)]
        var generations: [Generation] = []
    }
    var cost: Int
    var accounts: [Account]
    /// Each avatar's statuses, in the order the runner saw them.
    var history: [UUID: [AvatarStatus]]
    var jobs: [JobSnapshot]
    var journal: [JournalEntry]
    var messages: [BotMessage]
    var calls: [BotAPICall]
    /// FAL answers an expectation asserted (`expect_fal_calls` with a `status`), so they were asked for.
    var expectedFALStatuses: Set<String> = []
    /// Submit verdicts an expectation asserted (`expect_fal_submit` with a `verdict`).
    var expectedVerdicts: Set<Verdict> = []
    /// MockFAL answers deprecated apps with 410 because the scenario said so.
    var deprecationAsked = false
    /// Everything has settled (explore's runs): liveness is checked too.
    var settled = false
    /// AishaSystem processes that ran (restarts and a second instance included): each learns of a flood wait from
    /// its own first 429, and two at once may both make the same edit (Telegram: "message is not modified").
    var processes = 1
    /// Whether two processes ran side by side.
    var concurrentInstances = false
    /// AishaSystem died after FAL accepted a submit and before storing its request id (`crash_at: submitted`).
    var crashedAfterSubmit = false
    /// AishaSystem died between a notification's send and its mark (`crash_at: notification_sent`): the outbox sends
    /// it once more when the dead sender's claim runs out, and the chat's later messages wait for it.
    var crashedAfterSend = false
}
