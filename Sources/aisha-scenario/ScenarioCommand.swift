import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MockFAL
import NIOCore
import ScenarioRunner
import SupportKit

/// `aisha-scenario`: plays scripted Telegram conversations end to end and reports what differed.
@main
struct ScenarioCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aisha-scenario", abstract: "Play Aisha scenarios (YAML) against mock Telegram, MockFAL and AishaSystem.",
        subcommands: [Run.self, List.self, ExploreCommand.self, MockTelegram.self, BenchCommand.self, ContractsCommand.self])

    /// Every server and client of a run shares this process: NIO's event loops get half the cores, so they and the
    /// concurrency pool (one thread per core) contend less. On two cores: mock-fal status +40 %, lifecycle −1.5 ms.
    static func main() async {
        NIOSingletons.groupLoopCountSuggestion = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
        await main(nil)
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run scenario files or folders; exit code 1 on any failure.")

    @Argument(help: "Scenario files or folders (default: scenarios).") var paths: [String] = []
    @Option(help: "Only scenarios whose name or file contains this text.") var filter: String?
    @Option(help: "Seed for MockFAL keys, probabilistic faults and generated photos.") var seed: UInt64 = 1
    @Option(help: "Write a JUnit XML report here.") var junit: String?
    @Option(help: "Write a self-contained HTML report here.") var html: String?
    @Option(help: "mock (MockFAL in-process) or real (FAL's queue; needs FAL_KEY and PUBLIC_BASE_URL).") var fal = "mock"
    @Option(help: "Scenarios run at once.") var jobs = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "in-process (default) or external: drive an AishaSystem you started (see --aisha-url, --telegram-port, --fal-port).")
    var system = "in-process"
    @Option(help: "External system: where it listens.") var aishaURL = "http://127.0.0.1:8000"
    @Option(help: "External system: the port of the mock Telegram it calls (its TELEGRAM_API_BASE_URL).") var telegramPort = 8081
    @Option(help: "External system: the port of the MockFAL it calls (its FAL_QUEUE_BASE_URL and FAL_JWKS_URL); unused with --fal real.")
    var falPort = 8082
    @Option(help: "In-process: run on PostgreSQL (postgres://USER:PASSWORD@HOST:PORT/DATABASE), a schema per scenario. External: the system's DATABASE_URL, read for expectations on stored state.")
    var databaseURL: String?
    @Option(help: "Store photos and archives in S3 (s3://BUCKET-PREFIX?endpoint=URL), a bucket per scenario; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.")
    var storageURL: String?
    @Option(help: "--fal real: refuse the submit after this many paid jobs (at the proxy, before it reaches FAL).") var maxPaidJobs: Int?
    @Option(help: "--fal real: write every exchange with FAL (secrets redacted) here, one file per job.") var record: String?
    @Option(help: "--fal real: an `advance: D` step lets up to D × this of real time pass (slow trainers).") var timeScale: Double = 1
    @Flag(help: "--fal real: run the paid jobs planned without asking (needed when not on a terminal).") var yes = false
    @Option(name: .customLong("lacks"), help: "Something these backends do not do, skipping scenarios that need it (expiring_archive_urls: moto ignores presigned-URL expiry); repeatable.")
    var lacks: [String] = []

    func run() async throws {
        guard let target = RunOptions.FALTarget(rawValue: fal) else { throw ValidationError("--fal must be mock or real") }
        var options = RunOptions()
        options.filter = filter
        options.seed = seed
        options.jobs = max(1, jobs)
        options.fal = target
        let env = ProcessInfo.processInfo.environment
        switch system {
        case "in-process":
            do {
                options.backends = try ScenarioBackends(
                    postgresURL: databaseURL, s3URL: storageURL, s3AccessKey: env["AWS_ACCESS_KEY_ID"], s3SecretKey: env["AWS_SECRET_ACCESS_KEY"])
                options.backends.lacks = Set(try lacks.map { name in
                    guard let need = ScenarioNeed(rawValue: name) else {
                        throw ValidationError("--lacks \(name): known are \(ScenarioNeed.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return need
                })
            } catch let failure as StepFailure {
                throw ValidationError(failure.message)
            }
        case "external":
            options.external = ExternalSystem(
                url: aishaURL, telegramPort: telegramPort, falPort: falPort, telegramSecret: env["TELEGRAM_WEBHOOK_SECRET"], databaseURL: databaseURL)
        default:
            throw ValidationError("--system must be in-process or external")
        }
        var results: [ScenarioResult]
        do {
            let (scenarios, invalid) = try ScenarioRunner.load(paths: paths.isEmpty ? ["scenarios"] : paths, filter: filter, seed: seed)
            invalid.forEach { print(ConsoleReport.line($0)) }
            results = invalid
            if target == .real, options.external == nil {
                results += try await runStaging(scenarios, options: &options, env: env)
            } else {
                results += await ScenarioRunner.run(scenarios, options: options) { print(ConsoleReport.line($0)) }
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("aisha-scenario: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(ConsoleReport.summary(results))
        if let junit { try writeReport(JUnitReport.xml(results), to: junit) }
        if let html { try writeReport(HTMLReport.page(results), to: html) }
        if results.isEmpty { throw ValidationError("no scenarios found\(filter.map { " matching '\($0)'" } ?? "")") }
        if results.contains(where: { if case .failed = $0.outcome { true } else if case .invalid = $0.outcome { true } else { false } }) {
            throw ExitCode(1)
        }
    }
}

extension Run {
    /// `--fal real` with the in-process system: plans the paid jobs (a dry run against MockFAL), asks, then runs the
    /// opted-in scenarios through a MockFAL proxy per scenario, and cancels what is left at FAL on the way out.
    func runStaging(_ scenarios: [Scenario], options: inout RunOptions, env: [String: String]) async throws -> [ScenarioResult] {
        let target: StagingTarget
        switch StagingTarget.fromEnvironment(env) {
        case .success(let found): target = found
        case .failure(let missing): throw ValidationError(missing.message)
        }
        guard timeScale > 0 else { throw ValidationError("--time-scale must be positive") }
        let contracts = try ContractCatalog.bundled()
        var results: [ScenarioResult] = []
        var candidates: [Scenario] = []
        for scenario in scenarios {
            if let reason = ScenarioRunner.realFALSkipReason(scenario) {
                results.append(ScenarioRunner.skipped(scenario, reason, seed: seed))
                print(ConsoleReport.line(results[results.count - 1]))
            } else {
                candidates.append(scenario)
            }
        }
        let plan = await CostPlan.make(candidates, seed: seed, jobs: max(1, jobs))
        print(plan.render(contracts, maxPaidJobs: maxPaidJobs))
        if !plan.totals.isEmpty, !yes {
            guard isatty(STDIN_FILENO) == 1 else { throw ValidationError("paid FAL jobs are planned: add --yes to run them without a terminal") }
            print("Run them? [y/N] ", terminator: "")
            guard readLine()?.lowercased().hasPrefix("y") == true else { throw ExitCode(1) }
        }
        let staging = try await StagingRun.start(target, maxPaidJobs: maxPaidJobs, recordFolder: record, timeScale: timeScale)
        options.staging = staging
        let abort = StagingAbort.install(staging)
        let skipped = Set(plan.notOptedIn.map { "\($0.scenario.file)#\($0.scenario.name)" })
        for entry in plan.entries where skipped.contains("\(entry.scenario.file)#\(entry.scenario.name)") {
            let result = ScenarioRunner.skipped(entry.scenario, "would pay for \(entry.jobs.values.reduce(0, +)) FAL job(s): opt in with `staging: true`", seed: seed)
            print(ConsoleReport.line(result))
            results.append(result)
        }
        let runnable = candidates.filter { !skipped.contains("\($0.file)#\($0.name)") }
        results += await ScenarioRunner.run(runnable, options: options) { print(ConsoleReport.line($0)) }
        abort.cancel()
        StagingAbort.report(await staging.stop())
        print("paid FAL jobs created: \(await staging.budget.used)")
        return results
    }
}

/// Ctrl-C during a staging run: cancel every job still running at FAL, say which could not be, then exit.
enum StagingAbort {
    static func install(_ staging: StagingRun) -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT)
        source.setEventHandler {
            print("\ninterrupted: cancelling the jobs still running at FAL …")
            Task {
                report(await staging.stop())
                Foundation.exit(130)
            }
        }
        source.resume()
        return source
    }

    static func report(_ cancels: [InFlightCancel]) {
        for cancel in cancels {
            let outcome = cancel.httpStatus == 202 ? "cancelled" : "NOT cancelled (HTTP \(cancel.httpStatus) \(cancel.detail ?? "")): cancel it yourself"
            print("FAL job \(cancel.requestId) (\(cancel.appId)) was still running: \(outcome)")
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the scenarios in files or folders.")

    @Argument(help: "Scenario files or folders (default: scenarios).") var paths: [String] = []

    func run() async throws {
        for file in try ScenarioParser.files(in: paths.isEmpty ? ["scenarios"] : paths) {
            do {
                for scenario in try ScenarioParser.load(file: file) {
                    print("\(file)\t\(scenario.name)\(scenario.reproduces.map { "\t(\($0))" } ?? "")")
                }
            } catch {
                print("\(file)\tINVALID: \(error)")
            }
        }
    }
}

struct MockTelegram: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-telegram", abstract: "Serve the mock Telegram Bot API alone (for aisha serve or a real bot library).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8081
    @Option(help: "The bot token the mock accepts.") var token = "123456:mock-token"

    func run() async throws {
        let world = TelegramWorld(token: token, time: .live)
        print("mock Telegram Bot API on http://\(host):\(port) — token \(token)")
        try await MockTelegramServer.buildApplication(world: world, host: host, port: port).runService()
    }
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the harness (use a release build: swift run -c release aisha-scenario bench).")

    @Option(help: "Scenario folder for the suite timing.") var scenarios = "scenarios"
    @Option(help: "Lifecycle runs for median/p99.") var runs = 30
    @Option(help: "Status requests against mock-fal.") var statusRequests = 20_000
    @Option(help: "Concurrent clients.") var clients = 16
    @Option(help: "Signed webhooks posted to status_update (each for a training in flight).") var webhooks = 6_000
    @Option(help: "Jobs finished before measuring mock-fal's RSS.") var jobs = 10_000
    @Option(help: "Seeds per scenario for the explore figure.") var exploreSeeds = 25
    @Option(help: "Write the figures as JSON here.") var json: String?
    @Flag(help: "Exit with code 1 when a figure misses its target (lifecycle, suite, status, ingestion, idle RSS).") var check = false
    @Option(
        help: "Measure only these parts, comma-separated: \(Bench.Part.allCases.map(\.rawValue).joined(separator: ", ")).",
        transform: { text in
            try Set(text.split(separator: ",").map { name in
                guard let part = Bench.Part(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("unknown part '\(name)'; use \(Bench.Part.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return part
            })
        })
    var only: Set<Bench.Part> = Set(Bench.Part.allCases)

    func run() async throws {
        var options = Bench.Options()
        options.parts = only
        options.scenarios = scenarios
        options.lifecycleRuns = runs
        options.statusRequests = statusRequests
        options.clients = clients
        options.webhooks = webhooks
        options.finishedJobs = jobs
        options.exploreSeeds = max(1, exploreSeeds)
        options.binaries = Bundle.main.executableURL?.deletingLastPathComponent()
        print(Bench.row("figure", "value", "unit", "note"))
        let figures = try await Bench.run(options) { print($0) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeReport(String(decoding: try encoder.encode(figures), as: UTF8.self), to: json)
        }
        let missed = figures.filter { $0.met == false }
        if check, !missed.isEmpty {
            print("missed targets: \(missed.map { "\($0.name) \(String(format: "%.2f", $0.value)) \($0.unit) (\($0.target!.description))" }.joined(separator: "; "))")
            throw ExitCode(1)
        }
    }
}

/// Writes a report, creating its folder (`reports/…`) when needed.
func writeReport(_ text: String, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
}
