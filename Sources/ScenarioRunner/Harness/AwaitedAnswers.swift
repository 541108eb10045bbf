import Foundation
import Synchronization
import SupportKit

/// A foreground update whose handling stopped to wait on the virtual clock (a reply waiting out Telegram's 429, a
/// submit waiting out FAL's Retry-After): nothing moves the clock while the runner waits for its answer, so the user
/// waits for it instead, letting time pass before their next action, as a person would.
final class PendingAnswer: Sendable {
    private final class Box: Sendable {
        let status = Mutex<Int?>(nil)
    }

    private let box = Box()
    private let task: Task<Int, Never>
    let what: String
    /// How many sleeps had begun on the clock when it was sent.
    let sleepsBefore: UInt64

    /// Starts delivering the update.
    init(_ what: String, sleepsBefore: UInt64, _ update: @escaping @Sendable () async -> Int) {
        self.what = what
        self.sleepsBefore = sleepsBefore
        let box = box
        task = Task {
            let status = await update()
            box.status.withLock { $0 = status }
            return status
        }
    }

    var status: Int? { box.status.withLock { $0 } }

    /// The answer, however long it takes.
    var value: Int { get async { await task.value } }

    /// The answer if it comes within `patience` of real time (the usual case, noticed at once), else nil. (Not a task
    /// group: it would wait for an update that waits on the clock.)
    func answer(within patience: Duration) async -> Int? {
        let task = task
        return await withCheckedContinuation { continuation in
            let first = FirstOf<Int?>(continuation)
            Task { first.resume(await task.value) }
            Task {
                try? await Task.sleep(for: patience)
                first.resume(nil)
            }
        }
    }
}

/// Resumes a continuation with the first value given (a result racing a timeout).
final class FirstOf<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = Mutex(continuation) }

    func resume(_ value: Value) { continuation.withLock { $0.take() }?.resume(returning: value) }
}

extension StepExecutor {
    /// How long real time must show the bot idle, the update unanswered and a new sleeper on the clock before the
    /// update counts as waiting on the clock (an answer still on its way back is far quicker).
    static let clockWaitEvidence: Duration = .milliseconds(20)
    /// How much virtual time a user waits for the answer to their last update before the step fails.
    static let answerPatience: Duration = .seconds(3600)
    /// How long a background update may take to reach the bot's clock before time moves on without it.
    static let backgroundStartPatience: Duration = .seconds(2)

    /// Delivers a foreground update: its HTTP status, or nil when its handling waits on the virtual clock (then it is
    /// awaited before the user's next step, see `awaitAnswers`).
    func answer(_ what: String, _ update: @escaping @Sendable () async -> Int) async throws {
        // Only an in-process system's work is counted on the clock; an external one answers on its own time.
        guard case .inProcess = env.system, let clock = env.time.virtualClock else { return try check(await update(), what) }
        let pending = PendingAnswer(what, sleepsBefore: clock.sleepsBegun, update)
        if let status = await pending.answer(within: Self.clockWaitEvidence) { return try check(status, what) }
        guard await waitsOnClock(pending, clock: clock, patience: nil) else { return try check(pending.status ?? 0, what) }
        awaited.append(pending)
    }

    /// Delivers an update the user does not wait for (`background: true`): later steps run while the bot handles it.
    func deliverInBackground(_ what: String, _ update: @escaping @Sendable () async -> Int) {
        inFlight.append(PendingAnswer(what, sleepsBefore: env.time.virtualClock?.sleepsBegun ?? 0, update))
    }

    /// Before time moves: each background update still unanswered has had the chance to reach the clock (its handler
    /// started and now sleeps), so an `advance` right after it wakes what it waits for instead of racing its start.
    func letBackgroundUpdatesStart() async {
        guard case .inProcess = env.system, let clock = env.time.virtualClock else { return }
        for pending in inFlight where pending.status == nil {
            _ = await waitsOnClock(pending, clock: clock, patience: Self.backgroundStartPatience)
        }
    }

    /// True once the bot is idle with the update unanswered and a new sleeper on the clock for `clockWaitEvidence`;
    /// false when the update is answered first (or `patience` of real time passes).
    private func waitsOnClock(_ pending: PendingAnswer, clock: VirtualClock, patience: Duration?) async -> Bool {
        let start = ContinuousClock.now
        var idleSince: ContinuousClock.Instant?
        while pending.status == nil {
            if let patience, ContinuousClock.now - start >= patience { return false }
            if clock.activity.isIdle, clock.sleepsBegun > pending.sleepsBefore {
                let since = idleSince ?? .now
                idleSince = since
                if ContinuousClock.now - since >= Self.clockWaitEvidence { return true }
            } else {
                idleSince = nil
            }
            try? await Task.sleep(for: .microseconds(100))
        }
        return false
    }

    /// Waits for background updates and checks their answers (2xx), letting virtual time pass while they wait on it.
    func finishInFlight() async throws {
        awaited += inFlight
        inFlight = []
        try await awaitAnswers()
    }

    /// Lets virtual time pass, deadline by deadline, until the updates waiting on the clock are answered.
    func awaitAnswers() async throws {
        guard !awaited.isEmpty else { return }
        guard case .inProcess = env.system, let clock = env.time.virtualClock else {
            let pending = awaited
            awaited = []
            for answer in pending { try check(await answer.value, answer.what) }
            return
        }
        let start = env.time.now()
        let limit = clock.now.advanced(by: Self.answerPatience)
        while let pending = awaited.first {
            if let status = pending.status {
                awaited.removeFirst()
                try check(status, pending.what)
                continue
            }
            await settle()
            if await pending.answer(within: Self.clockWaitEvidence) != nil { continue }
            guard let next = clock.nextDeadline, next <= limit else {
                throw StepFailure(message: "the bot has not answered the \(pending.what) within \(Int(Self.answerPatience.timeInterval)) s of virtual time")
            }
            await env.time.advance(by: clock.now.duration(to: next))
        }
        let waited = env.time.now().timeIntervalSince(start)
        if waited > 0 { note(.clock, "the user waited \(String(format: "%.0f", waited)) s for the bot's answer") }
    }
}
