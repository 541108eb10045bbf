import AishaSystem
import Foundation
import MockFAL

/// Checks every invariant at the end of a scenario run (in-process systems, whose store and log the runner owns).
enum Invariants {
    /// Sends what the outbox holds, lets the work settle, gathers the evidence and checks it.
    static func check(_ env: ScenarioEnvironment, _ executor: StepExecutor) async throws -> [Violation] {
        guard case .inProcess = env.system else { return [] }
        await executor.settle()
        try await env.drainNotifications()
        try await executor.restartIfCrashed()
        await executor.noteStateChanges()
        return InvariantChecks.violations(try await evidence(env, executor), allowed: env.scenario.allowed)
    }

    static func evidence(_ env: ScenarioEnvironment, _ executor: StepExecutor) async throws -> RunEvidence {
        let store = try env.store
        var accounts: [RunEvidence.Account] = []
        for scenarioUser in env.scenario.users {
            guard let user = try await store.user(id: scenarioUser.id) else { continue }
            var avatars: [(Avatar, Int)] = []
            for avatar in try await store.avatars(ownerId: user.id) { avatars.append((avatar, try await store.photos(avatarId: avatar.id).count)) }
            accounts.append(
                .init(user: user, ledger: try await store.ledger(userId: user.id), avatars: avatars, generations: try await store.generations(ownerId: user.id)))
        }
        var evidence = RunEvidence(
            cost: env.scenario.config.cost, accounts: accounts, history: executor.history, jobs: await env.falJobs.snapshots(),
            journal: await env.fal.journalEntries(), messages: await env.world.messages, calls: await env.world.calls)
        for step in env.scenario.steps + env.scenario.setAside {
            switch step.action {
            case .expectFALCalls(_, let kind, _, let status?): evidence.expectedFALStatuses.insert("\(kind.rawValue) \(status)")
            case .expectFALSubmit(let expectation): if let verdict = expectation.verdict { evidence.expectedVerdicts.insert(verdict) }
            case .send, .tap, .callback, .photos, .advance, .settle, .restart, .secondInstance, .falFault, .telegramFault, .blockBot, .postWebhook, .expectMessage,
                .expectNoMessage, .expectFALCalls, .expectAvatar, .expectLog, .expectWebhook, .expectCredits, .expectTelegramCall, .expectToast,
                .expectFALJob:
                continue
            }
        }
        evidence.deprecationAsked = env.scenario.fal.refuseDeprecated
        evidence.settled = env.scenario.settles
        evidence.processes = env.processesStarted
        evidence.concurrentInstances = env.runsTwoInstances
        evidence.crashedAfterSubmit = env.crash.fired == .submitted
        evidence.crashedAfterSend = env.crash.fired == .notificationSent
        return evidence
    }
}
