import AishaSystem
import Foundation
import SupportKit

extension StepExecutor {
    /// Lets virtual time pass, a poll interval at a time, until nothing is left to happen, or `limit` has passed;
    /// returns the time that passed. A run whose world went quiet after ten minutes skips hours of idle poller ticks,
    /// and one that never does still gets every retry, recovery and timeout within the limit.
    func settleQuietly(atMost limit: Duration) async throws -> Duration {
        let chunk = max(scenario.config.pollInterval, .seconds(1))
        var passed: Duration = .zero
        while passed < limit {
            let step = min(chunk, limit - passed)
            try await advance(step)
            passed += step
            if await worldIsQuiet() { break }
        }
        return passed
    }

    /// Nothing left to happen: MockFAL runs no job and holds no webhook to send, every confirmed training and every
    /// generation has finished, no notification waits to be sent, and no update the user sent is still unanswered.
    func worldIsQuiet() async -> Bool {
        guard (awaited + inFlight).allSatisfy({ $0.status != nil }), await env.fal.isQuiet, let store = try? env.store else { return false }
        do {
            for user in scenario.users where try await store.avatars(ownerId: user.id).contains(where: { $0.status == .training }) { return false }
            let unfinished = try await store.unfinishedGenerations(before: .distantFuture)
            let nextDue = try await store.nextNotificationDue()
            return unfinished.isEmpty && nextDue == nil
        } catch {
            return false
        }
    }

    /// The button to tap. In a run that `settles` (explore's), a user whose button has not come yet waits for it, time
    /// passing deadline by deadline for up to an hour, as a person waits for the bot's message before tapping; and one
    /// whose latest keyboard lacks it (a perturbed run put another message below) scrolls up to the latest message that
    /// has it.
    func waitForButton(_ label: String, user: ScenarioUser, on which: MessageChoice) async throws -> Result<(InlineButton, BotMessage), TapFailure> {
        var found = await env.world.button(label, for: user, on: which)
        guard scenario.settles, case .inProcess = env.system, let clock = env.time.virtualClock else { return found }
        let limit = clock.now.advanced(by: .seconds(3600))
        while case .failure = found, let next = clock.nextDeadline, next <= limit {
            try await advance(clock.now.duration(to: next))
            found = await env.world.button(label, for: user, on: which)
        }
        guard case .failure = found, which == .latest else { return found }
        let sent = await env.world.messages(to: user.id)
        guard let index = sent.lastIndex(where: { $0.labels.contains { $0.contains(label) } }) else { return found }
        return await env.world.button(label, for: user, on: .fromEnd(sent.count - index))
    }
}
