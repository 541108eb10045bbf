import ArgumentParser
import Foundation
import ScenarioRunner

/// `aisha-scenario explore`: seeded fault schedules over the scenarios' actions, checked by the invariants.
struct ExploreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Run each scenario's actions under seeded perturbations (webhooks, FAL and Telegram errors, restarts, double taps); exit 1 when an invariant breaks.")

    @Argument(help: "Scenario files or folders (default: scenarios).") var paths: [String] = []
    @Option(help: "Only scenarios whose name or file contains this text.") var filter: String?
    @Option(help: "Seeds per scenario.") var seeds = 20
    @Option(help: "The first seed (a reproducer names the seed to rerun with --seed N --seeds 1).") var seed: UInt64 = 1
    @Option(help: "Runs at once (default: twice the cores; a run mostly waits).") var jobs = Explore.Options().jobs
    @Option(help: "Write a reproducer scenario per finding here.") var out = "reports/explore"
    @Flag(help: "Print each run's perturbations before it runs.") var verbose = false

    func run() async throws {
        let (scenarios, invalid) = try ScenarioRunner.load(paths: paths.isEmpty ? ["scenarios"] : paths, filter: filter, seed: seed)
        for broken in invalid { print("✘ \(broken.file): \(broken.outcome)") }
        var options = Explore.Options()
        options.seeds = max(1, seeds)
        options.firstSeed = seed
        options.jobs = max(1, jobs)
        options.out = out
        options.verbose = verbose
        print("exploring \(scenarios.count) scenario(s) × \(options.seeds) seed(s) …")
        let summary = await Explore.run(scenarios, options: options) { print($0) }
        print(Explore.report(summary))
        if !summary.findings.isEmpty || !invalid.isEmpty { throw ExitCode(1) }
    }
}
