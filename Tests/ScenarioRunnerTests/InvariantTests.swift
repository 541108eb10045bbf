@testable import AishaSystem
import Foundation
@testable import MockFAL
@testable import ScenarioRunner
import SupportKit
import Testing

/// Each invariant holds on a clean run and fails, naming the subject, when the evidence is broken its way.
@Suite("Invariants: each one fails when broken")
struct InvariantTests {
    static let owner: Int64 = 1
    static let avatarId = UUID(uuidString: "AAAAAAAA-0000-0000-0000-000000000001")!
    static let requestId = "req-1"
    static let date = Date(timeIntervalSince1970: 1_790_000_000)

    /// A completed style training, told once, paid once: every invariant holds.
    static func clean() -> RunEvidence {
        let avatar = Avatar(
            id: avatarId, ownerId: owner, name: "Anna", gender: .female, trainingType: .style, status: .completed, preset: .balanced,
            trainingAttempt: 1, trainerApp: "fal-ai/flux-pro-trainer", falRequestId: requestId, finetuneId: "ft-1", triggerWord: "TOK_aaaaaaaa",
            progress: 100, createdAt: date, updatedAt: date)
        let ledger = [
            LedgerEntry(userId: owner, avatarId: nil, attempt: 0, kind: .grant, amount: 150, reason: "welcome", createdAt: date),
            LedgerEntry(userId: owner, avatarId: avatarId, attempt: 1, kind: .charge, amount: -150, reason: "training", createdAt: date),
        ]
        let user = User(id: owner, firstName: "Anna", language: "ru", blocked: false, balance: 0, createdAt: date)
        let hook = "http://127.0.0.1:1/api/v1/avatar/status_update?avatar_id=\(avatarId.uuidString.lowercased())&attempt=1&training_type=style"
        let job = JobSnapshot(
            requestId: requestId, appId: "fal-ai/flux-pro-trainer", status: "COMPLETED", step: 500, totalSteps: 500, input: [:], effectiveInput: [:],
            webhookURL: hook, imageCount: 12, archiveBytes: 1, output: ["finetune_id": "ft-1"], error: nil, errorType: nil, fault: Fault(), webhookAttempts: [])
        let submit = JournalEntry(seq: 1, time: "", method: "POST", path: "/fal-ai/flux-pro-trainer", kind: .submit, appId: "fal-ai/flux-pro-trainer", requestId: requestId, httpStatus: 200, verdict: .accepted)
        let started = BotMessage(messageId: 1, chatId: owner, text: "🎨 Художественное обучение запущено для аватара «Anna».", buttons: [], photo: false, time: date)
        let ready = BotMessage(messageId: 2, chatId: owner, text: Texts.ready(avatar), buttons: [], photo: false, time: date)
        let sends = [started, ready].map { BotAPICall(time: date, method: "sendmessage", status: 200, chatId: owner, text: $0.text) }
        return RunEvidence(
            cost: 150, accounts: [.init(user: user, ledger: ledger, avatars: [(avatar, 12)])],
            history: [avatarId: [.draft, .uploading, .readyForTraining, .training, .completed]], jobs: [job], journal: [submit],
            messages: [started, ready], calls: sends)
    }

    func broken(_ invariant: Invariant, _ breakIt: (inout RunEvidence) -> Void) -> [Violation] {
        var evidence = Self.clean()
        breakIt(&evidence)
        return InvariantChecks.violations(evidence).filter { $0.invariant == invariant }
    }

    @Test("a clean run breaks nothing")
    func clean() {
        #expect(InvariantChecks.violations(Self.clean()).isEmpty, "\(InvariantChecks.violations(Self.clean()))")
    }

    @Test("each invariant names its breakage", arguments: Invariant.allCases)
    func each(_ invariant: Invariant) {
        let found = broken(invariant) { e in
            switch invariant {
            case .ledgerBalanced: e.accounts[0].user.balance = 150
            case .chargeOncePerAttempt:
                e.accounts[0].ledger.append(LedgerEntry(userId: Self.owner, avatarId: Self.avatarId, attempt: 1, kind: .refund, amount: 150, reason: "", createdAt: Self.date))
                e.accounts[0].user.balance = 150
            case .onePaidJobPerAttempt:
                var second = e.jobs[0]
                second.requestId = "req-2"
                second.status = "FAILED"
                e.jobs.append(second)
            case .noOrphanPaidJob: e.accounts[0].avatars[0].avatar.status = .cancelled
            case .stateForward: e.history[Self.avatarId]?.append(.training)
            case .resultFromOwnJob: e.accounts[0].avatars[0].avatar.finetuneId = "someone-else"
            case .outcomeToldOnce: e.messages.append(e.messages[1])
            case .silentAfterBlock:
                // The first after the 403 may have been on its way; the second was sent knowingly.
                e.calls += Array(repeating: BotAPICall(time: Self.date, method: "sendmessage", status: 403, chatId: Self.owner, cause: .blocked), count: 3)
            case .submitsMeetContract: e.journal[0].verdict = .recorded
            case .archiveHoldsPhotos: e.jobs[0].imageCount = 11
            case .noUnaskedRefusal:
                e.journal.append(JournalEntry(seq: 2, time: "", method: "PUT", path: "/fal-ai/flux-pro-trainer/requests/x/cancel", kind: .cancel, httpStatus: 404))
            case .generationUsesOwnAvatar:
                var job = e.jobs[0]
                job.requestId = "gen-1"
                job.webhookURL = "http://127.0.0.1:1/api/v1/generation/status_update?generation_id=\(UUID().uuidString.lowercased())"
                e.jobs.append(job)
            case .generationPaidOnce:
                e.accounts[0].ledger.append(LedgerEntry(userId: Self.owner, avatarId: nil, attempt: 0, kind: .charge, amount: -10, reason: "", createdAt: Self.date))
            case .outcomeToldPromptly: e.calls[1].time = Self.date.addingTimeInterval(60)
            case .retryAfterRespected:
                // One call already on its way when the wait began is excused; the second was sent knowingly.
                let wait = BotAPICall(time: Self.date, method: "sendmessage", status: 429, chatId: Self.owner, cause: .floodWait)
                e.calls += [BotAPICall(time: Self.date, method: "sendmessage", status: 429, chatId: Self.owner, cause: .fault), wait, wait]
            case .trainingsFinish:
                e.settled = true
                e.accounts[0].avatars[0].avatar.status = .training
                e.messages.removeLast()
            }
        }
        #expect(!found.isEmpty, "\(invariant.rawValue) did not notice")
        #expect(found.first?.subject.isEmpty == false, "the violation names whom it concerns")
    }

    @Test("each process (two instances, or one restarted) may send one call into a flood wait it has not been told of; a third is flagged")
    func floodWaitPerInstance() {
        var evidence = Self.clean()
        let wait = BotAPICall(time: Self.date, method: "sendmessage", status: 429, chatId: Self.owner, cause: .floodWait)
        evidence.calls += [BotAPICall(time: Self.date, method: "sendmessage", status: 429, chatId: Self.owner, cause: .fault), wait, wait]
        evidence.processes = 2
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .retryAfterRespected } == false)
        evidence.calls.append(wait)
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .retryAfterRespected })
    }

    @Test("a no-op edit ('message is not modified') is excused only when two instances ran side by side")
    func notModifiedWithTwoInstances() {
        var evidence = Self.clean()
        evidence.calls.append(
            BotAPICall(time: Self.date, method: "editmessagetext", status: 400, description: "Bad Request: message is not modified", chatId: Self.owner, cause: .ran))
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .noUnaskedRefusal })
        evidence.concurrentInstances = true
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .noUnaskedRefusal } == false)
    }

    @Test("a crash after FAL accepted: the job is an orphan nobody can know only while its webhook was not delivered before the training ended")
    func unknowableOrphan() {
        var evidence = Self.clean()
        evidence.accounts[0].avatars[0].avatar.status = .cancelled
        evidence.accounts[0].avatars[0].avatar.falRequestId = nil
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .noOrphanPaidJob })
        evidence.crashedAfterSubmit = true
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .noOrphanPaidJob } == false)
        let delivered = WebhookAttempt(date: Self.date.addingTimeInterval(60), copy: 1, attempt: 1, outcome: .delivered, httpStatus: 200)
        evidence.jobs[0].webhookAttempts = [delivered]
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .noOrphanPaidJob } == false, "it came after the user had cancelled")
        evidence.jobs[0].webhookAttempts[0].date = Self.date.addingTimeInterval(-60)
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .noOrphanPaidJob }, "its webhook came in time: the system could have bound it")
    }

    @Test("a training whose job FAL still holds is not stuck; one whose job is over is")
    func stillRunningAtFAL() {
        var evidence = Self.clean()
        evidence.settled = true
        evidence.accounts[0].avatars[0].avatar.status = .training
        evidence.messages.removeLast()
        evidence.jobs[0].status = "IN_QUEUE"
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .trainingsFinish } == false)
        evidence.jobs[0].status = "COMPLETED"
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .trainingsFinish })
    }

    @Test("an earlier attempt's failure before the current attempt's 'started' is not an outcome told too early")
    func outcomePerAttempt() {
        var evidence = Self.clean()
        let earlier = BotMessage(messageId: 0, chatId: Self.owner, text: "😔 Обучение аватара «Anna» не удалось: the training was not confirmed by FAL.", buttons: [], photo: false, time: Self.date)
        evidence.messages.insert(earlier, at: 0)
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .outcomeToldOnce } == false)
        evidence.messages.swapAt(1, 2)  // "ready" before this attempt's "started"
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .outcomeToldOnce })
    }

    @Test("a crash between a send and its mark: one repeat of the outcome and the claim lease's delay are the crash's price; a third telling is not")
    func crashAfterSend() {
        func found(_ invariant: Invariant, _ change: (inout RunEvidence) -> Void) -> Bool {
            var evidence = Self.clean()
            change(&evidence)
            return InvariantChecks.violations(evidence).contains { $0.invariant == invariant }
        }
        #expect(found(.outcomeToldOnce) { $0.messages.append($0.messages[1]) })
        #expect(found(.outcomeToldOnce) { $0.crashedAfterSend = true; $0.messages.append($0.messages[1]) } == false)
        #expect(found(.outcomeToldOnce) { $0.crashedAfterSend = true; $0.messages += [$0.messages[1], $0.messages[1]] })
        let afterLease = Self.date.addingTimeInterval(Notifier.claimLease + 10)
        #expect(found(.outcomeToldPromptly) { $0.calls[1].time = afterLease })
        #expect(found(.outcomeToldPromptly) { $0.crashedAfterSend = true; $0.calls[1].time = afterLease } == false)
        #expect(found(.outcomeToldPromptly) { $0.crashedAfterSend = true; $0.calls[1].time = afterLease.addingTimeInterval(60) })
    }

    @Test("liveness is checked only once everything has settled")
    func livenessOnlySettled() {
        var evidence = Self.clean()
        evidence.accounts[0].avatars[0].avatar.status = .training
        evidence.messages.removeLast()
        #expect(!InvariantChecks.violations(evidence).contains { $0.invariant == .trainingsFinish })
        evidence.settled = true
        #expect(InvariantChecks.violations(evidence).contains { $0.invariant == .trainingsFinish })
    }

    @Test("an expectation that asks for a refusal, and allow:, exempt it")
    func exemptions() {
        var evidence = Self.clean()
        evidence.journal.append(JournalEntry(seq: 2, time: "", method: "PUT", path: "/x/requests/r/cancel", kind: .cancel, httpStatus: 400))
        #expect(InvariantChecks.violations(evidence).map(\.invariant) == [.noUnaskedRefusal])
        #expect(InvariantChecks.violations(evidence, allowed: [.noUnaskedRefusal]).isEmpty)
        evidence.expectedFALStatuses = ["cancel 400"]
        #expect(InvariantChecks.violations(evidence).isEmpty)
    }

    @Test("the result of a failed job answered 422 is FAL's report of the failure, not a refusal; of a running job it is")
    func failedJobResult() {
        var evidence = Self.clean()
        let requestId = evidence.jobs[0].requestId
        evidence.journal.append(
            JournalEntry(seq: 2, time: "", method: "GET", path: "/fal-ai/x/requests/\(requestId)", kind: .result, requestId: requestId, httpStatus: 422))
        evidence.jobs[0].status = "FAILED"
        #expect(InvariantChecks.violations(evidence).filter { $0.invariant == .noUnaskedRefusal }.isEmpty)
        evidence.jobs[0].status = "IN_PROGRESS"
        #expect(InvariantChecks.violations(evidence).map(\.invariant).contains(.noUnaskedRefusal))
    }

    @Test("allowed transitions: retrain after an error, a start that failed before FAL; never out of completed or cancelled")
    func transitions() {
        #expect(InvariantChecks.allowed(.error, .training))
        #expect(InvariantChecks.allowed(.training, .readyForTraining))
        #expect(!InvariantChecks.allowed(.completed, .training))
        #expect(!InvariantChecks.allowed(.cancelled, .completed))
        #expect(!InvariantChecks.allowed(.training, .uploading))
    }
}
