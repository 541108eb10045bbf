import Foundation
import MockFAL
@testable import ScenarioRunner
import SupportKit
import Testing

/// `aisha-scenario explore`: seeded perturbations over every scenario's actions, checked by the invariants.
@Suite("Explore: seeded perturbations, invariants, shrinking, reproducers")
struct ExploreTests {
    @Test("the same seed draws the same schedule; schedules differ across seeds")
    func deterministic() throws {
        let (scenarios, _) = try ScenarioRunner.load(paths: ["\(scenarioFolder)/happy-portrait-balanced.yaml"], filter: nil, seed: 1)
        let steps = Explore.base(scenarios[0])
        #expect(Perturbation.draw(steps: steps, seed: 42) == Perturbation.draw(steps: steps, seed: 42))
        let schedules = Set((1...20).map { Perturbation.draw(steps: steps, seed: $0) })
        #expect(schedules.count > 5)
        #expect(steps.allSatisfy { !$0.action.isExpectation }, "the scenario's own expectations are not required under perturbation")
        if case .settle(let limit) = steps.last?.action { #expect(limit >= .seconds(6 * 3600)) } else { Issue.record("no settle step") }
    }

    @Test("settle stops once nothing is left to happen: the training finished, its owner told, no webhook pending")
    func settleStopsWhenQuiet() async throws {
        let result = try await Self.settled(
            """
              - tap: "Начать обучение"
              - settle: 6h
              - expect_message: "🎉 Аватар «Кира» готов"
            """)
        #expect(result.passed, "\(result.outcome)")
        let waited = try #require(Self.settledAfter(result))
        // The training takes 16 min (MockFAL's steps): settled within a few poll intervals of that, hours early.
        #expect(waited >= 16 * 60 && waited <= 30 * 60, "settled after \(waited) s")
    }

    @Test("settle goes on while a webhook is still to come (the poller told the user long before), up to its limit")
    func settleWaitsForPendingWebhook() async throws {
        let late = """
              - fal_fault: { fault: { webhook: delay, webhook_delay_seconds: 7200 } }
              - tap: "Начать обучение"
            """
        let full = try await Self.settled(late + "\n  - settle: 6h")
        let waited = try #require(Self.settledAfter(full))
        #expect(waited >= 2 * 3600 + 16 * 60 && waited < 3 * 3600, "settled after \(waited) s")
        let cut = try await Self.settled(late + "\n  - settle: 40m")
        #expect(Self.settledAfter(cut).map { Int($0.rounded()) } == 2400, "settled after \(String(describing: Self.settledAfter(cut))) s")
    }

    /// A portrait avatar up to its confirm, then `tail`.
    static func settled(_ tail: String) async throws -> ScenarioResult {
        let scenario = try #require(
            try ScenarioParser.parse(
                """
                name: settle
                user: { id: 7101, first_name: Kira }
                steps:
                  - send: /start
                  - tap: "Создать аватар"
                  - send: "Кира"
                  - tap: "Женский"
                  - tap: "🎭 Портретный"
                  - photos: { count: 10 }
                  - tap: "Готово"
                \(tail)
                """, file: "settle.yaml"
            ).first)
        return await ScenarioRunner.run(scenario, options: RunOptions())
    }

    /// How long the `settle` step let time pass, as its timeline note says.
    static func settledAfter(_ result: ScenarioResult) -> Double? {
        result.timeline.first { $0.kind == .clock && $0.text.hasPrefix("settled after") }
            .flatMap { Double($0.text.split(separator: " ")[2]) }
    }

    @Test("one seed over every scenario: the invariants hold under perturbation")
    func everyScenario() async throws {
        let (scenarios, invalid) = try ScenarioRunner.load(paths: [scenarioFolder], filter: nil, seed: 1)
        #expect(invalid.isEmpty)
        var options = Explore.Options()
        options.seeds = 1
        options.firstSeed = 3
        options.jobs = 2
        let summary = await Explore.run(scenarios, options: options)
        #expect(summary.runs == scenarios.count)
        #expect(summary.perturbations > 0)
        #expect(summary.findings.isEmpty, "\(Explore.report(summary))")
        // Telegram 5xx/429 on any reply now: a user who never saw a reply cannot take the next step (nothing judged).
        #expect(summary.inconclusive < scenarios.count / 3, "\(Explore.report(summary))")
    }
}
