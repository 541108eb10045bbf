import AishaSystem
import Foundation
import MockFAL
import SupportKit

/// One entry of a scenario's timeline (the reports), in the run's one order of events.
public struct TimelineEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// The chat: what a user did, what the bot sent, edited or answered to a tap.
        case user, bot, edit, toast
        /// The side lane: FAL, webhooks, stored state, the clock, the system, and where a step failed.
        case fal, webhook, state, clock, system, failure
    }
    public var time: Date
    public var kind: Kind
    public var text: String
    /// The chat a bot event went to.
    public var chat: Int64?
    /// The keyboard a bot message or edit carries.
    public var buttons: [String] = []
    public var order = EventOrder.next()

    /// One line for the console: a bot message with its chat and keyboard.
    public var line: String {
        let keyboard = buttons.isEmpty ? "" : "  [\(buttons.joined(separator: " | "))]"
        return "\(chat.map { "→ \($0): " } ?? "")\(text)\(keyboard)"
    }
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
    /// Submits FAL accepted, per app: the jobs this scenario paid for (or would pay for at the real FAL).
    public var paidJobs: [String: Int] = [:]
    /// The invariants the run broke (its failure, when it got that far).
    public var violations: [Violation] = []

    public var passed: Bool { outcome == .passed }
}

/// Options of a run (the `aisha-scenario run` flags).
public struct RunOptions: Sendable {
    public enum FALTarget: String, Sendable, CaseIterable { case mock, real }
    public var filter: String?
    public var seed: UInt64 = 1
    public var jobs = 2
    public var fal = FALTarget.mock
    /// `--fal real` with the in-process system: the run's FAL behind a MockFAL proxy per scenario.
    public var staging: StagingRun?
    public var backends = ScenarioBackends.embedded
    /// A user-started AishaSystem to drive instead of an in-process one (`--system external`).
    public var external: ExternalSystem?
    /// Bugs put back into the in-process AishaSystem (tests that show explore finds them).
    public var defects: Set<InjectedDefect> = []

    public init() {}
}

/// Runs scenarios, each isolated in its own environment, several at once.
public enum ScenarioRunner {
    /// Loads every file (a broken file becomes an `invalid` result) and runs what matches the filter.
    public static func run(paths: [String], options: RunOptions, progress: @escaping @Sendable (ScenarioResult) -> Void = { _ in }) async throws -> [ScenarioResult] {
        let (scenarios, invalid) = try load(paths: paths, filter: options.filter, seed: options.seed)
        invalid.forEach(progress)
        return invalid + (await run(scenarios, options: options, progress: progress))
    }

    /// The scenarios of the files that match the filter, and a result for each file that could not be read.
    public static func load(paths: [String], filter: String?, seed: UInt64) throws -> (scenarios: [Scenario], invalid: [ScenarioResult]) {
        var scenarios: [Scenario] = []
        var invalid: [ScenarioResult] = []
        for file in try ScenarioParser.files(in: paths) {
            do {
                scenarios += try ScenarioParser.load(file: file)
            } catch {
                invalid.append(ScenarioResult(name: file, file: file, outcome: .invalid("\(error)"), seconds: 0, timeline: [], seed: seed))
            }
        }
        if let filter = filter?.lowercased() {
            scenarios = scenarios.filter { $0.name.lowercased().contains(filter) || $0.file.lowercased().contains(filter) }
        }
        return (scenarios, invalid)
    }

    /// Runs scenarios, `options.jobs` at a time (one at a time against an external system, which knows one mock
    /// Telegram and one MockFAL port).
    public static func run(_ scenarios: [Scenario], options: RunOptions, progress: @escaping @Sendable (ScenarioResult) -> Void = { _ in }) async -> [ScenarioResult] {
        await withTaskGroup(of: (Int, ScenarioResult).self) { group in
            var next = 0
            var collected: [(Int, ScenarioResult)] = []
            func launch() {
                guard next < scenarios.count else { return }
                let (index, scenario) = (next, scenarios[next])
                next += 1
                group.addTask { (index, await run(scenario, options: options)) }
            }
            for _ in 0..<(options.external != nil ? 1 : max(1, options.jobs)) { launch() }
            while let finished = await group.next() {
                progress(finished.1)
                collected.append(finished)
                launch()
            }
            return collected.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// A scenario that did not run, and why.
    public static func skipped(_ scenario: Scenario, _ reason: String, seed: UInt64) -> ScenarioResult {
        ScenarioResult(name: scenario.name, file: scenario.file, outcome: .skipped(reason), seconds: 0, timeline: [], seed: seed)
    }

    /// Runs one scenario in a fresh environment.
    public static func run(_ scenario: Scenario, options: RunOptions) async -> ScenarioResult {
        let started = ContinuousClock.now
        func result(_ outcome: ScenarioResult.Outcome, _ timeline: [TimelineEvent]) -> ScenarioResult {
            ScenarioResult(
                name: scenario.name, file: scenario.file, outcome: outcome, seconds: (ContinuousClock.now - started).timeInterval,
                timeline: timeline, seed: options.seed)
        }
        if options.fal == .real {
            let reason = options.external == nil ? realFALSkipReason(scenario) : systemsOwnFALSkipReason(scenario)
            if let reason { return result(.skipped(reason), []) }
        }
        if let reason = options.external?.skipReason(scenario) { return result(.skipped(reason), []) }
        if let missing = scenario.needs.intersection(options.backends.lacks).first {
            return result(.skipped("needs \(missing.rawValue), which these backends do not provide"), [])
        }
        let environment: ScenarioEnvironment
        do {
            environment = try await ScenarioEnvironment.start(
                scenario, seed: options.seed, staging: options.fal == .real ? options.staging : nil, backends: options.backends,
                external: options.external, mockFAL: options.fal == .mock, defects: options.defects)
        } catch {
            return result(.failed(step: 0, line: scenario.line, summary: "start", failure: "\(error)"), [])
        }
        let executor = StepExecutor(env: environment, seed: options.seed)
        var outcome = ScenarioResult.Outcome.passed
        for (index, step) in scenario.steps.enumerated() {
            do {
                try await executor.run(step)
                try await executor.restartIfCrashed()
                await executor.noteStateChanges()
                if index == scenario.steps.count - 1 { try await executor.finishInFlight() }
            } catch {
                executor.note(.failure, "step \(index + 1) (line \(step.line)) failed: \(error)")
                outcome = .failed(step: index + 1, line: step.line, summary: step.summary, failure: "\(error)")
                break
            }
        }
        var violations: [Violation] = []
        if outcome == .passed {
            do {
                violations = try await Invariants.check(environment, executor)
                // On real time a webhook may still be on its way when the steps end: judged once it had 5 s to land.
                if !violations.isEmpty, !environment.time.isVirtual {
                    try await Task.sleep(for: .seconds(5))
                    violations = try await Invariants.check(environment, executor)
                }
                if !violations.isEmpty {
                    executor.note(.failure, "invariants broken: \(violations.map(\.description).joined(separator: "; "))")
                    outcome = .failed(
                        step: scenario.steps.count + 1, line: scenario.line, summary: "invariants (always checked)",
                        failure: StepFailure(message: "\(violations.count) invariant violation(s)", diff: violations.map(\.description)).description)
                }
            } catch {
                outcome = .failed(step: scenario.steps.count + 1, line: scenario.line, summary: "invariants (always checked)", failure: "\(error)")
            }
        }
        var timeline = await Timeline.collect(environment, userEvents: executor.userEvents)
        var paidJobs: [String: Int] = [:]
        for submit in await environment.fal.journalEntries() where submit.kind == .submit && submit.requestId != nil {
            paidJobs[submit.appId ?? submit.path, default: 0] += 1
        }
        for cancel in await environment.stop() {
            let what = cancel.httpStatus == 202 ? "cancelled" : "could not be cancelled (HTTP \(cancel.httpStatus) \(cancel.detail ?? ""))"
            timeline.append(TimelineEvent(time: environment.time.now(), kind: .fal, text: "FAL job \(cancel.requestId) (\(cancel.appId)) left running at the end: \(what)"))
        }
        var finished = result(outcome, timeline)
        finished.paidJobs = paidJobs
        finished.violations = violations
        if case .failed = outcome { finished.logTail = Array(environment.logs.all.suffix(12)) }
        return finished
    }

    /// Why a scenario cannot run against the real FAL behind the proxy, or nil: faults only FAL can produce,
    /// MockFAL's own settings, webhooks signed with FAL's key.
    public static func realFALSkipReason(_ scenario: Scenario) -> String? {
        if let refusal = scenario.faults.lazy.compactMap({ FALProxy.refusal(of: $0.fault) }).first { return refusal }
        if scenario.fal.refuseDeprecated { return "refuse_deprecated is MockFAL's answer to a deprecated app: FAL decides that itself" }
        for step in scenario.steps {
            switch step.action {
            case .falFault(let rule):
                if let refusal = FALProxy.refusal(of: rule.fault) { return "\(refusal) (line \(step.line))" }
            case .postWebhook(_, true, _): return "signs a webhook as FAL (line \(step.line)): only FAL holds its signing key"
            case .send, .tap, .callback, .photos, .advance, .settle, .restart, .secondInstance, .telegramFault, .blockBot, .postWebhook, .expectMessage, .expectNoMessage,
                .expectFALSubmit, .expectFALCalls, .expectAvatar, .expectLog, .expectWebhook, .expectCredits, .expectTelegramCall, .expectToast, .expectFALJob:
                continue
            }
        }
        return nil
    }

    /// Why a scenario cannot run when an external system talks to the real FAL itself (the runner sees none of
    /// FAL's side), or nil.
    static func systemsOwnFALSkipReason(_ scenario: Scenario) -> String? {
        if !scenario.faults.isEmpty { return "needs MockFAL faults" }
        if let step = scenario.steps.first(where: { $0.action.needsMockFAL }) {
            return "step at line \(step.line) (\(step.summary.prefix(40))) needs MockFAL or virtual time"
        }
        return nil
    }
}
