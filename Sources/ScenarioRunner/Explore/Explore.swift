import AishaSystem
import Foundation
import MockFAL
import SupportKit

/// `aisha-scenario explore`: the user actions of each scenario under seeded schedules of perturbations, every run
/// settled (hours of virtual time) and checked against the invariants and liveness. A failing schedule is shrunk to
/// the perturbations it needs and written as a scenario file.
public enum Explore {
    public struct Options: Sendable {
        public var seeds = 20
        public var firstSeed: UInt64 = 1
        /// Runs at once: twice the cores. A run spends much of its time waiting (servers starting, the real-time
        /// windows in which work shows itself), so two per core keep the cores busy (measured: 1,549 runs per 2 min
        /// with 4 jobs on 2 cores, 909 with 2).
        public var jobs = 2 * ProcessInfo.processInfo.activeProcessorCount
        /// Where reproducers are written; nil writes none.
        public var out: String?
        /// Print each run's schedule before it runs.
        public var verbose = false
        /// Stop at the first failing run (shrunk and written as usual).
        public var stopAtFirstFinding = false
        /// Bugs put back into AishaSystem (tests that show explore finds them).
        public var defects: Set<InjectedDefect> = []
        public init() {}
    }

    /// One failing schedule, shrunk, with its reproducer.
    public struct Finding: Sendable {
        public var scenario: Scenario
        public var seed: UInt64
        public var perturbations: [Perturbation]
        public var shrunk: [Perturbation]
        /// What failed: invariant names, or "step: …".
        public var failures: [String]
        public var reproducer: String
        public var reproducerFile: String?
    }

    public struct Summary: Sendable {
        public var runs = 0
        public var perturbations = 0
        public var seconds = 0.0
        public var findings: [Finding] = []
        /// How many runs broke each invariant.
        public var failuresByKind: [String: Int] = [:]
        /// Runs whose user could not do a step under their perturbations (nothing judged), by reason.
        public var inconclusiveReasons: [String: Int] = [:]
        public var inconclusive: Int { inconclusiveReasons.values.reduce(0, +) }
    }

    /// The scenario as explore plays it: the user's actions only (the scenario's own expectations need not hold
    /// under perturbation), then time until everything has settled, at most enough for every webhook retry (2 h),
    /// poll, stale training and submission timeout (3 h) to have happened.
    static func base(_ scenario: Scenario) -> [Step] {
        let config = scenario.config
        let hours = max(6, Int(((config.staleAfter + config.pollInterval * 2).timeInterval / 3600).rounded(.up)) + 4)
        return scenario.steps.filter { !$0.action.isExpectation }
            + [Step(line: scenario.line, action: .settle(atMost: .seconds(hours * 3600)), summary: "settle: \"\(hours)h\"")]
    }

    public static func run(_ scenarios: [Scenario], options: Options, progress: @escaping @Sendable (String) -> Void = { _ in }) async -> Summary {
        let started = ContinuousClock.now
        var summary = Summary()
        let work = scenarios.flatMap { scenario in (0..<UInt64(options.seeds)).map { (scenario, options.firstSeed + $0) } }
        await withTaskGroup(of: (tried: Int, outcome: RunOutcome, finding: Finding?).self) { group in
            var next = 0
            func launch() {
                guard next < work.count else { return }
                let (scenario, seed) = work[next]
                next += 1
                group.addTask {
                    let steps = base(scenario)
                    let schedule = Perturbation.draw(steps: steps, seed: seed &+ fnv(scenario.name))
                    if options.verbose { progress("· \(scenario.name) — seed \(seed): \(schedule.map(\.description).joined(separator: "; "))") }
                    let began = ContinuousClock.now
                    let outcome = await outcome(scenario, steps: steps, schedule: schedule, seed: seed, defects: options.defects)
                    let took = (ContinuousClock.now - began).timeInterval
                    if options.verbose, took > 0.5 { progress(String(format: "  ⏱ %.2f s — %@ — seed %d", took, scenario.name, seed)) }
                    if options.verbose, case .inconclusive(let why) = outcome { progress("  ? \(scenario.name) — seed \(seed): \(why)") }
                    guard case .broke(let failures) = outcome else { return (schedule.count, outcome, nil) }
                    progress("✘ \(scenario.name) — seed \(seed): \(failures.joined(separator: ", "))")
                    let finding = await shrink(
                        scenario, steps: steps, schedule: schedule, seed: seed, failures: failures, out: options.out, defects: options.defects)
                    return (schedule.count, outcome, finding)
                }
            }
            for _ in 0..<max(1, options.jobs) { launch() }
            while let run = await group.next() {
                summary.runs += 1
                summary.perturbations += run.tried
                switch run.outcome {
                case .held: break
                case .broke(let failures): for failure in failures { summary.failuresByKind[failure, default: 0] += 1 }
                case .inconclusive(let why): summary.inconclusiveReasons[why, default: 0] += 1
                }
                if let finding = run.finding { summary.findings.append(finding) }
                if summary.runs % 100 == 0 { progress("… \(summary.runs)/\(work.count) runs") }
                if options.stopAtFirstFinding, !summary.findings.isEmpty { next = work.count }
                launch()
            }
        }
        summary.seconds = (ContinuousClock.now - started).timeInterval
        summary.findings.sort { ($0.scenario.name, $0.seed) < ($1.scenario.name, $1.seed) }
        return summary
    }

    /// What broke in one run: the invariants violated (empty when they held). A run whose user could not do a step
    /// (a button the perturbed conversation did not show yet) judges nothing and counts as inconclusive.
    static func failures(_ scenario: Scenario, steps: [Step], schedule: [Perturbation], seed: UInt64, defects: Set<InjectedDefect>) async -> [String] {
        switch await outcome(scenario, steps: steps, schedule: schedule, seed: seed, defects: defects) {
        case .held, .inconclusive: []
        case .broke(let invariants): invariants
        }
    }

    enum RunOutcome: Sendable, Equatable {
        case held
        case broke([String])
        case inconclusive(String)
    }

    static func outcome(_ scenario: Scenario, steps: [Step], schedule: [Perturbation], seed: UInt64, defects: Set<InjectedDefect>) async -> RunOutcome {
        var perturbed = Perturbation.apply(schedule, to: scenario, steps: steps)
        perturbed.settles = true
        perturbed.setAside = scenario.steps.filter(\.action.isExpectation)
        var options = RunOptions()
        options.seed = seed
        options.defects = defects
        // A run whose work waits on a clock nobody moves stalls until the clock's patience runs out: given up on here.
        let scenario = perturbed
        let run = Task { await ScenarioRunner.run(scenario, options: options) }
        let result: ScenarioResult? = await withCheckedContinuation { continuation in
            let first = FirstOf<ScenarioResult?>(continuation)
            Task { first.resume(await run.value) }
            Task {
                try? await Task.sleep(for: .seconds(20))
                first.resume(nil)
            }
        }
        guard let result else { return .inconclusive("stalled: work waited on the virtual clock for 20 s of real time") }
        switch result.outcome {
        case .passed, .skipped: return .held
        case .invalid(let why): return .inconclusive(why)
        case .failed(_, _, let summary, let failure):
            if !result.violations.isEmpty { return .broke(Array(Set(result.violations.map(\.invariant.rawValue))).sorted()) }
            return .inconclusive("\(summary.prefix(60)): \(failure.split(separator: "\n").first ?? "")")
        }
    }

    /// Drops perturbations one at a time while the run still fails the same way; writes the reproducer.
    static func shrink(
        _ scenario: Scenario, steps: [Step], schedule: [Perturbation], seed: UInt64, failures: [String], out: String?,
        defects: Set<InjectedDefect>
    ) async -> Finding {
        var kept = schedule
        var index = 0
        while index < kept.count {
            var candidate = kept
            candidate.remove(at: index)
            let again = await Self.failures(scenario, steps: steps, schedule: candidate, seed: seed, defects: defects)
            if !Set(again).isDisjoint(with: failures) { kept = candidate } else { index += 1 }
        }
        let text = Reproducer.yaml(scenario, steps: steps, schedule: kept, seed: seed, failures: failures)
        var file: String?
        if let out {
            let name = "explore-\(Reproducer.slug(scenario.name))-seed-\(seed).yaml"
            let path = URL(fileURLWithPath: out).appendingPathComponent(name).path
            if (try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)) != nil,
                (try? text.write(toFile: path, atomically: true, encoding: .utf8)) != nil
            {
                file = path
            }
        }
        return Finding(scenario: scenario, seed: seed, perturbations: schedule, shrunk: kept, failures: failures, reproducer: text, reproducerFile: file)
    }

    /// The summary table.
    public static func report(_ summary: Summary) -> String {
        var lines = [
            String(format: "%d runs, %d perturbations tried, %.1f s (%.0f runs/min)", summary.runs, summary.perturbations, summary.seconds,
                Double(summary.runs) / max(summary.seconds, 0.001) * 60),
        ]
        if summary.inconclusive > 0 {
            lines.append("\(summary.inconclusive) run(s) inconclusive (nothing judged), most often:")
            for (why, count) in summary.inconclusiveReasons.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }).prefix(5) {
                lines.append(String(format: "  %5d  %@", count, why))
            }
        }
        if summary.failuresByKind.isEmpty { lines.append("no invariant broken") }
        for (kind, count) in summary.failuresByKind.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            lines.append(String(format: "  %5d  %@", count, kind))
        }
        for finding in summary.findings {
            lines.append("✘ \(finding.scenario.name), seed \(finding.seed): \(finding.failures.joined(separator: ", "))")
            lines.append("    needs: \(finding.shrunk.map(\.description).joined(separator: "; "))")
            if let file = finding.reproducerFile { lines.append("    reproducer: \(file)") }
        }
        return lines.joined(separator: "\n")
    }

    static func fnv(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
