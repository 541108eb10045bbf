import AishaSystem
import Foundation
import Logging
import MockFAL
import SupportKit

/// One measured figure.
public struct BenchFigure: Sendable, Codable {
    public var name: String
    public var value: Double
    public var unit: String
    public var note: String
    /// The goal this figure is held to, if any.
    public var target: BenchTarget?

    public init(name: String, value: Double, unit: String, note: String, target: BenchTarget? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
        self.note = note
        self.target = target ?? BenchTarget.forFigure(name)
    }
}

/// `aisha-scenario bench`: the harness's speed and footprint, measured in this process and in child processes.
public enum Bench {
    public struct Options: Sendable {
        public var scenarios = "scenarios"
        public var lifecycleRuns = 30
        public var statusRequests = 20_000
        public var clients = 16
        public var webhooks = 6_000
        public var finishedJobs = 10_000
        /// Seeds per scenario for the explore figure (25 × the 44 scenarios ≈ 1,100 perturbed runs).
        public var exploreSeeds = 25
        /// Folder with the `mock-fal` and `aisha` executables (for RSS and cold start).
        public var binaries: URL?
        /// The parts to measure (all by default).
        public var parts = Set(Part.allCases)

        public init() {}
    }

    /// The separately runnable parts of the bench.
    public enum Part: String, CaseIterable, Sendable {
        case lifecycle, suite, status, ingestion, processes, explore
    }

    public static func run(_ options: Options, progress: @Sendable (String) -> Void) async throws -> [BenchFigure] {
        var figures: [BenchFigure] = []
        func add(_ figure: BenchFigure) {
            figures.append(figure)
            progress(row(figure.name, String(format: "%.2f", figure.value), figure.unit, [figure.note, figure.targetMark].filter { !$0.isEmpty }.joined(separator: "  ")))
        }
        let parts = options.parts
        if parts.contains(.lifecycle) { for figure in try await lifecycle(options) { add(figure) } }
        if parts.contains(.suite) { for figure in try await suite(options) { add(figure) } }
        if parts.contains(.status) { for figure in try await QueueLoad.statusThroughput(options) { add(figure) } }
        if parts.contains(.ingestion) { for figure in try await WebhookLoad.ingestion(options) { add(figure) } }
        if parts.contains(.explore) { for figure in try await explore(options) { add(figure) } }
        if parts.contains(.processes), let binaries = options.binaries {
            for figure in try await ProcessFigures.measure(binaries: binaries, options: options) { add(figure) }
        }
        return figures
    }

    /// One whole training lifecycle (create → 10 photos → confirm → 1000 steps → webhook → notification).
    /// Beside it, the same journey followed by a generation of an album of 4 (choose, prompt, shape, count, confirm,
    /// FAL's job of 1000 steps, 4 images downloaded, stored and sent).
    static func lifecycle(_ options: Options) async throws -> [BenchFigure] {
        var figures: [BenchFigure] = []
        for (name, text) in [("lifecycle", lifecycleScenario), ("lifecycle + generation of 4", lifecycleScenario + generationSteps)] {
            let scenario = try ScenarioParser.parse(text, file: "bench-lifecycle.yaml")[0]
            var seconds: [Double] = []
            for _ in 0..<options.lifecycleRuns {
                let result = await ScenarioRunner.run(scenario, options: RunOptions())
                guard result.passed else { throw StepFailure(message: "the \(name) scenario failed: \(result.outcome)") }
                seconds.append(result.seconds)
            }
            figures += [
                BenchFigure(name: "\(name) median", value: percentile(seconds, 50) * 1000, unit: "ms", note: "\(options.lifecycleRuns) runs, 1000 steps"),
                BenchFigure(name: "\(name) p99", value: percentile(seconds, 99) * 1000, unit: "ms", note: ""),
            ]
        }
        return figures
    }

    /// The whole scenario folder, one at a time and with every core.
    static func suite(_ options: Options) async throws -> [BenchFigure] {
        var figures: [BenchFigure] = []
        for jobs in [1, ProcessInfo.processInfo.activeProcessorCount] {
            var run = RunOptions()
            run.jobs = jobs
            let start = ContinuousClock.now
            let results = try await ScenarioRunner.run(paths: [options.scenarios], options: run)
            let wall = (ContinuousClock.now - start).timeInterval
            let failed = results.filter { !$0.passed }.count
            let target = jobs == ProcessInfo.processInfo.activeProcessorCount && results.count >= 40 ? BenchTarget.suite : nil
            figures.append(
                BenchFigure(name: "suite --jobs \(jobs)", value: wall, unit: "s", note: "\(results.count) scenarios, \(failed) failed", target: target))
        }
        return figures
    }

    /// `explore` over the scenario folder as `aisha-scenario explore` runs it (two jobs per core): perturbed runs per two
    /// minutes (issue 17: ≥ 1,000).
    static func explore(_ options: Options) async throws -> [BenchFigure] {
        let (scenarios, _) = try ScenarioRunner.load(paths: [options.scenarios], filter: nil, seed: 1)
        var explore = Explore.Options()
        explore.seeds = options.exploreSeeds
        let summary = await Explore.run(scenarios, options: explore)
        let perTwoMinutes = Double(summary.runs) / max(summary.seconds, 0.001) * 120
        return [
            BenchFigure(
                name: "explore runs per 2 min", value: perTwoMinutes, unit: "runs",
                note: String(format: "%d runs in %.1f s, %d broke an invariant, %d inconclusive", summary.runs, summary.seconds, summary.findings.count, summary.inconclusive))
        ]
    }

    static let lifecycleScenario = """
        name: bench lifecycle
        user: { id: 1, first_name: Bench }
        fal: { step: 1s, steps_to_webhook: 1000 }
        config: { poll_interval: 24h, stale_after: 24h, welcome_credits: 200 }
        steps:
          - send: /start
          - tap: "Создать аватар"
          - send: "Bench"
          - tap: "Женский"
          - tap: "Портретный"
          - photos: { count: 10, size: 512x512 }
          - tap: "Готово"
          - tap: "Начать обучение"
          - advance: 1000s
          - expect_message: "готов!"

        """

    static let generationSteps = """
          - tap: "🖼 Создать изображение"
          - tap: "🖼 Bench"
          - send: "a bench in a park"
          - tap: "1:1"
          - tap: "4"
          - tap: "🚀 Сгенерировать"
          - advance: 1000s
          - expect_message: "✅ Готово: 4 из 4"
        """

    /// A table row: name, right-aligned value, unit, note.
    public static func row(_ name: String, _ value: String, _ unit: String, _ note: String) -> String {
        let value = String(repeating: " ", count: max(0, 12 - value.count)) + value
        return "\(name.padding(toLength: 36, withPad: " ", startingAt: 0)) \(value) \(unit.padding(toLength: 7, withPad: " ", startingAt: 0)) \(note)"
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded(.up))
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
