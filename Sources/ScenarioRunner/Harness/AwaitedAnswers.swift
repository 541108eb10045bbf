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

    /// Starts delivering the update.
    init(_ what: String, _ update: @escaping @Sendable () async -> Int) {
        self.what = what
        let box = box
        task = Task {
            let status = await update()
            box.status.withLock { $0 = status }
            return status
        }
    }

    var status: Int? { box.status.withLock { $0 } }

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

    /// Delivers a foreground update: its HTTP status, or nil when its handling waits on the virtual clock (then it is
    /// awaited before the user's next step, see `awaitAnswers`).
    func answer(_ what: String, _ update: @escaping @Sendable () async -> Int) async throws {
        // Only an in-process system's work is counted on the clock; an external one answers on its own time.
        guard case .inProcess = env.system, let clock = env.time.virtualClock else { return try check(await update(), what) }
        let before = clock.sleepsBegun
        let pending = PendingAnswer(what, update)
        if let status = await pending.answer(within: Self.clockWaitEvidence) { return try check(status, what) }
        var idleSince: ContinuousClock.Instant?
        while true {
            if let status = pending.status { return try check(status, what) }
            if clock.activity.isIdle, clock.sleepsBegun > before {
                let since = idleSince ?? .now
                idleSince = since
                if ContinuousClock.now - since >= Self.clockWaitEvidence {
                    awaited.append(pending)
                    return
                }
            } else {
                idleSince = nil
            }
            try? await Task.sleep(for: .microseconds(100))
        }
    }

    /// Lets virtual time pass, deadline by deadline, until the updates waiting on the clock are answered.
    func awaitAnswers() async throws {
        guard !awaited.isEmpty, let clock = env.time.virtualClock else { return }
        let start = env.time.now()
        let limit = clock.now.advanced(by: Self.answerPatience)
        while let pending = awaited.first {
            if let status = pending.status {
                awaited.removeFirst()
                try check(status, pending.what)
                continue
            }
            await settle()
            try? await Task.sleep(for: Self.clockWaitEvidence)
            guard pending.status == nil else { continue }
            guard let next = clock.nextDeadline, next <= limit else {
                throw StepFailure(message: "the bot has not answered the \(pending.what) within \(Int(Self.answerPatience.timeInterval)) s of virtual time")
            }
            await env.time.advance(by: clock.now.duration(to: next))
        }
        let waited = env.time.now().timeIntervalSince(start)
        note(.clock, "the user waited \(String(format: "%.0f", waited)) s for the bot's answer")
    }
}
