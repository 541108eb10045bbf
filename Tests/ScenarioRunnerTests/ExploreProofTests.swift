import AishaSystem
import Foundation
@testable import ScenarioRunner
import Testing

/// Proof that `explore` finds things: each bug put back into AishaSystem (`InjectedDefect`) is found within the
/// default seed budget over one scenario, and its reproducer fails with the bug and passes without it.
@Suite("Explore finds bugs put back into AishaSystem", .serialized)
struct ExploreProofTests {
    struct Proof: Sendable, CustomTestStringConvertible {
        var defect: InjectedDefect
        /// Explored in this order until the bug is found (its signs depend on which send a fault meets first).
        var scenarios: [String]
        var invariant: Invariant
        var testDescription: String { defect.rawValue }
    }

    static let proofs = [
        Proof(
            defect: .startedOutsideTransaction, scenarios: ["two-avatars-one-user", "seed-bug-2-type-survives-restart", "webhook-reordered-two-users"],
            invariant: .outcomeToldOnce),
        Proof(defect: .lostNotifierKick, scenarios: ["happy-portrait-balanced"], invariant: .outcomeToldPromptly),
        Proof(defect: .duplicateWebhookTold, scenarios: ["happy-portrait-balanced"], invariant: .outcomeToldOnce),
        Proof(defect: .floodWaitNotKept, scenarios: ["photos-album-one-reply", "happy-portrait-balanced"], invariant: .retryAfterRespected),
        Proof(defect: .cancelDropsCompleted, scenarios: ["cancel-while-queued"], invariant: .noOrphanPaidJob),
    ]

    @Test("found within the default seeds, with a reproducer that fails before the fix and passes after", arguments: proofs)
    func found(_ proof: Proof) async throws {
        let (scenarios, _) = try ScenarioRunner.load(paths: proof.scenarios.map { "\(scenarioFolder)/\($0).yaml" }, filter: nil, seed: 1)
        var options = Explore.Options()
        options.defects = [proof.defect]
        options.stopAtFirstFinding = true
        let summary = await Explore.run(scenarios, options: options)
        let finding = try #require(summary.findings.first, "not found in \(summary.runs) runs:\n\(Explore.report(summary))")
        #expect(finding.failures.contains(proof.invariant.rawValue), "\(finding.failures)")
        let reproducer = try #require(try ScenarioParser.parse(finding.reproducer, file: "reproducer.yaml").first)
        var before = RunOptions()
        before.defects = [proof.defect]
        let broken = await ScenarioRunner.run(reproducer, options: before)
        #expect(broken.violations.contains { $0.invariant == proof.invariant }, "the reproducer passes with the bug in place")
        let fixed = await ScenarioRunner.run(reproducer, options: RunOptions())
        #expect(fixed.outcome == .passed, "the reproducer fails without the bug: \(fixed.outcome)")
        print("proof \(proof.defect.rawValue): seed \(finding.seed) of \(finding.scenario.name) after \(summary.runs) run(s); reproducer: "
            + "\(reproducer.steps.count) steps, \(finding.shrunk.count) perturbation(s) [\(finding.shrunk.map(\.description).joined(separator: "; "))]")
    }
}
