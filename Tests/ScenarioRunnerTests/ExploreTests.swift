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
        if case .advance(let settle) = steps.last?.action { #expect(settle >= .seconds(6 * 3600)) } else { Issue.record("no settling advance") }
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
