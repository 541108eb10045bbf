#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// Someone waiting for journal entries (wait-for-call).
struct JournalWaiter: Sendable {
    let matches: @Sendable (JournalEntry) -> Bool
    let count: Int
    let continuation: CheckedContinuation<Bool, Never>
}

/// Which journal entries a wait-for-call counts.
public struct CallFilter: Sendable, Codable, Hashable {
    public var app: String?
    public var kind: CallKind?
    public var verdict: Verdict?

    public init(app: String? = nil, kind: CallKind? = nil, verdict: Verdict? = nil) {
        self.app = app
        self.kind = kind
        self.verdict = verdict
    }

    func matches(_ entry: JournalEntry) -> Bool {
        (app == nil || entry.appId == app) && (kind == nil || entry.kind == kind) && (verdict == nil || entry.verdict == verdict)
    }
}

extension FALQueue {
    func newEntry(method: String, path: String, kind: CallKind) -> JournalEntry {
        journalSeq += 1
        return JournalEntry(seq: journalSeq, time: Job.timestamp(now), method: method, path: path, kind: kind, httpStatus: 0)
    }

    func record(_ entry: JournalEntry) {
        journal.append(entry)
        // Trimmed in batches (a tenth over the limit), so the cost of dropping old entries stays amortised.
        if journal.count > configuration.journalLimit + max(1, configuration.journalLimit / 10) {
            journal.removeFirst(journal.count - configuration.journalLimit)
        }
        for (key, waiter) in journalWaiters where journal.filter(waiter.matches).count >= waiter.count {
            journalWaiters[key] = nil
            waiter.continuation.resume(returning: true)
        }
    }

    /// Every request answered so far, oldest first, optionally only those after `since`.
    public func journalEntries(since: Int = 0) -> [JournalEntry] {
        journal.filter { $0.seq > since }
    }

    /// Every job, oldest first, as the control API shows them.
    public func snapshots() -> [JobSnapshot] {
        jobOrder.compactMap { jobs[$0] }.map { job in
            var output: JSONValue?
            var error: String?
            var errorType: String?
            let status: String
            switch job.phase {
            case .queued: status = "IN_QUEUE"
            case .running: status = "IN_PROGRESS"
            case .succeeded(let value):
                status = "COMPLETED"
                output = value
            case .failed(let failure):
                status = "FAILED"
                error = failure.message
                errorType = failure.errorType
            case .cancelled: status = "CANCELLED"
            }
            return JobSnapshot(
                requestId: job.id, appId: job.appId, status: status,
                step: job.step(at: now, stepDuration: configuration.stepDuration), totalSteps: job.totalSteps,
                input: job.input, effectiveInput: job.effectiveInput, webhookURL: job.webhookURL,
                imageCount: job.imageCount, archiveBytes: job.archiveBytes, output: output, error: error,
                errorType: errorType, fault: job.fault, webhookAttempts: job.webhookAttempts)
        }
    }

    /// Waits until at least `count` journal entries match, or `timeout` of real time passes. True when they did.
    public func waitForCalls(_ filter: CallFilter, count: Int = 1, timeout: Duration = .seconds(10)) async -> Bool {
        if journal.filter(filter.matches).count >= count { return true }
        let key = UUID()
        let deadline = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.expireWaiter(key)
        }
        defer { deadline.cancel() }
        return await withCheckedContinuation { continuation in
            journalWaiters[key] = JournalWaiter(matches: filter.matches, count: count, continuation: continuation)
        }
    }

    private func expireWaiter(_ key: UUID) {
        journalWaiters.removeValue(forKey: key)?.continuation.resume(returning: false)
    }

    /// Nothing left to happen: no job queued or running and no webhook waiting to be sent or retried (a webhook a
    /// `reorder` fault holds waits for another job's, which none is left to send).
    public var isQuiet: Bool { tasks.isEmpty }

    /// Returns once no download or webhook send is in flight: what remains waits for the clock.
    public func waitUntilIdle() async {
        if busy == 0 { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    /// Adds a fault rule. A `request_id` rule changes that job's faults for what it has not done yet (webhook,
    /// response delays); the step a running job stops at was fixed when it started.
    public func addFault(_ rule: FaultRule) {
        if let id = rule.requestId, let job = jobs[id] {
            jobs[id]?.fault = job.fault.merged(with: rule.fault)
        } else {
            faultRules.append(rule)
        }
    }

    public func activeFaultRules() -> [FaultRule] { faultRules }

    public func clearFaults() { faultRules = [] }

    /// Signs with a new key from now on; the old one stays in the JWKS unless `retireOld`.
    public func rotateSigningKey(retireOld: Bool = false) {
        keyRing.rotate(seed: configuration.seed, retireOld: retireOld)
    }

    /// Sends every webhook held back by a `reorder` fault.
    public func flushHeldWebhooks() {
        releaseHeldWebhooks(after: "")
    }

    /// Forgets all jobs, journal entries, faults and held webhooks; running jobs are stopped.
    public func reset() {
        for task in tasks.values { task.cancel() }
        tasks = [:]
        jobs = [:]
        jobOrder = []
        journal = []
        journalSeq = 0
        faultRules = []
        heldWebhooks = []
        registeredModels = []
        busy = 0
        for waiter in idleWaiters { waiter.resume() }
        idleWaiters = []
    }

    /// Advances virtual time (no effect when MockFAL runs on real time). Returns false on real time.
    public func advanceClock(by duration: Duration) async -> Bool {
        guard configuration.time.isVirtual else { return false }
        await configuration.time.advance(by: duration)
        return true
    }
}
