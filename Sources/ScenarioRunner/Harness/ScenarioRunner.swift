import AishaSystem
import Foundation
import MockFAL
import SupportKit

/// One entry of a scenario's timeline (HTML report).
public struct TimelineEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case user, bot, fal, webhook, state, clock, system, failure
    }
    public var time: Date
    public var kind: Kind
    public var text: String
}

/// How a scenario ended.
public struct ScenarioResult: Sendable {
    public enum Outcome: Sendable, Equatable {
        case passed
        case failed(step: Int, line: Int, summary: String, failure: String)
        case skipped(String)
        /// The file could not be read or parsed.
        case invalid(String)
    }
    public var name: String
    public var file: String
    public var outcome: Outcome
    public var seconds: Double
    public var timeline: [TimelineEvent]
    public var seed: UInt64
    /// AishaSystem's last log lines when the scenario failed (what it did while the expectation waited).
    public var logTail: [String] = []

    public var passed: Bool { outcome == .passed }
}

/// Options of a run (the `aisha-scenario run` flags).
public struct RunOptions: Sendable {
    public enum FALTarget: String, Sendable, CaseIterable { case mock, real }
    public var filter: String?
    public var seed: UInt64 = 1
    public var jobs = 2
    public var fal = FALTarget.mock
    public var backends = ScenarioBackends.embedded
    /// A user-started AishaSystem to drive instead of an in-process one (`--system external`).
    public var external: ExternalSystem?

    public init() {}
}

/// Runs scenarios, each isolated in its own environment, several at once.
public enum ScenarioRunner {
    /// Loads every file (a broken file becomes an `invalid` result) and runs what matches the filter.
    public static func run(paths: [String], options: RunOptions, progress: @escaping @Sendable (ScenarioResult) -> Void = { _ in }) async throws -> [ScenarioResult] {
        var scenarios: [Scenario] = []
        var results: [ScenarioResult] = []
        for file in try ScenarioParser.files(in: paths) {
            do {
                scenarios += try ScenarioParser.load(file: file)
            } catch {
                let result = ScenarioResult(name: file, file: file, outcome: .invalid("\(error)"), seconds: 0, timeline: [], seed: options.seed)
                progress(result)
                results.append(result)
            }
        }
        if let filter = options.filter?.lowercased() {
            scenarios = scenarios.filter { $0.name.lowercased().contains(filter) || $0.file.lowercased().contains(filter) }
        }
        let ran = await withTaskGroup(of: (Int, ScenarioResult).self) { group in
            var next = 0
            var collected: [(Int, ScenarioResult)] = []
            func launch() {
                guard next < scenarios.count else { return }
                let (index, scenario) = (next, scenarios[next])
                next += 1
                group.addTask { (index, await run(scenario, options: options)) }
            }
            // Against the real FAL every scenario's AishaSystem listens on the one forwarded PORT, and an external
            // system knows one mock Telegram and one MockFAL port: one scenario at a time.
            for _ in 0..<(options.fal == .real || options.external != nil ? 1 : max(1, options.jobs)) { launch() }
            while let finished = await group.next() {
                progress(finished.1)
                collected.append(finished)
                launch()
            }
            return collected.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return results + ran
    }

    /// Runs one scenario in a fresh environment.
    public static func run(_ scenario: Scenario, options: RunOptions) async -> ScenarioResult {
        let started = ContinuousClock.now
        func result(_ outcome: ScenarioResult.Outcome, _ timeline: [TimelineEvent]) -> ScenarioResult {
            ScenarioResult(
                name: scenario.name, file: scenario.file, outcome: outcome, seconds: (ContinuousClock.now - started).timeInterval,
                timeline: timeline, seed: options.seed)
        }
        var realFAL: RealFALTarget?
        if options.fal == .real {
            if let reason = realFALSkipReason(scenario) { return result(.skipped(reason), []) }
        }
        if options.fal == .real, options.external == nil {
            switch RealFALTarget.fromEnvironment(ProcessInfo.processInfo.environment) {
            case .success(let target): realFAL = target
            case .failure(let missing): return result(.skipped(missing.message), [])
            }
        }
        if let reason = options.external?.skipReason(scenario) { return result(.skipped(reason), []) }
        if let missing = scenario.needs.intersection(options.backends.lacks).first {
            return result(.skipped("needs \(missing.rawValue), which these backends do not provide"), [])
        }
        let environment: ScenarioEnvironment
        do {
            environment = try await ScenarioEnvironment.start(
                scenario, seed: options.seed, realFAL: realFAL, backends: options.backends, external: options.external,
                mockFAL: options.fal == .mock)
        } catch {
            return result(.failed(step: 0, line: scenario.line, summary: "start", failure: "\(error)"), [])
        }
        let executor = StepExecutor(env: environment, seed: options.seed)
        var outcome = ScenarioResult.Outcome.passed
        for (index, step) in scenario.steps.enumerated() {
            do {
                try await executor.run(step)
                await executor.noteStateChanges()
                if index == scenario.steps.count - 1 { try await executor.finishInFlight() }
            } catch {
                executor.note(.failure, "step \(index + 1) (line \(step.line)) failed: \(error)")
                outcome = .failed(step: index + 1, line: step.line, summary: step.summary, failure: "\(error)")
                break
            }
        }
        let timeline = await Timeline.collect(environment, userEvents: executor.userEvents)
        await environment.stop()
        var finished = result(outcome, timeline)
        if case .failed = outcome { finished.logTail = Array(environment.logs.all.suffix(12)) }
        return finished
    }

    /// Why a scenario cannot run against the real FAL (it needs MockFAL's hooks or virtual time), or nil.
    static func realFALSkipReason(_ scenario: Scenario) -> String? {
        if !scenario.faults.isEmpty { return "needs MockFAL faults" }
        if let step = scenario.steps.first(where: { $0.action.needsMockFAL }) {
            return "step at line \(step.line) (\(step.summary.prefix(40))) needs MockFAL or virtual time"
        }
        return nil
    }
}
