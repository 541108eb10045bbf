import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Logging
import MockFAL
import SupportKit

/// `mock-fal`: a FAL queue server that enforces FAL's published trainer contracts.
@main
struct MockFALCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-fal",
        abstract: "A FAL queue API stand-in that enforces the real trainer contracts.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8787
    @Option(help: "strict (refuse contract violations) or lenient (accept and record them).") var mode = "strict"
    @Option(help: "Time one training step takes, e.g. 50ms, 1s.") var stepDuration = "50ms"
    @Option(help: "Run every job for this many steps instead of the input's steps/iterations.") var steps: Int?
    @Option(help: "Divide the step duration by this factor.") var speed: Double = 1
    @Option(help: "Seed for signing keys and probabilistic faults.") var seed: UInt64 = 0
    @Option(help: "Require exactly this FAL key (Authorization: Key <key>).") var key: String?
    @Option(help: "Base URL put into response URLs (default: from the Host header).") var publicBaseURL: String?
    @Option(name: .customLong("allow-host"), help: "A host (besides loopback) archives may be fetched from; repeatable.")
    var allowHosts: [String] = []
    @Option(help: "Folder of contract JSON files to use instead of the bundled ones.") var contracts: String?
    @Flag(help: "Answer deprecated apps (flux-pro-trainer) with 410, as FAL does after retiring them.")
    var refuseDeprecated = false
    @Flag(help: "Run jobs on a virtual clock moved only by POST /_mock/clock/advance (webhook signatures keep the wall clock).") var virtualTime = false
    @Option(help: "Log level (trace, debug, info, notice, warning, error).") var logLevel = "info"
    @Option(help: "Requests the journal keeps (the oldest are dropped).") var journalLimit = 10_000
    @Option(help: "Proxy mode: forward the queue API to this FAL (e.g. https://queue.fal.run), journaling and checking every call.")
    var upstream: String?
    @Option(help: "Proxy mode: the key sent upstream (default: FAL_KEY).") var upstreamKey: String?
    @Option(help: "Proxy mode: the upstream's webhook keys (default: FAL_JWKS_URL, else FAL's).") var upstreamJWKS: String?
    @Option(help: "Proxy mode: the address the upstream reaches this proxy at (webhooks), e.g. https://staging.example.com.")
    var publicURL: String?
    @Flag(help: "Proxy mode: forward submits that break the contract (journaled as 'recorded') instead of answering their 422 here.")
    var forwardInvalid = false
    @Option(help: "Proxy mode: refuse submits after this many paid jobs.") var maxPaidJobs: Int?
    @Option(help: "Proxy mode: write every exchange (secrets redacted) to this folder, one file per job.") var record: String?

    func run() async throws {
        guard let validation = ValidationMode(rawValue: mode) else {
            throw ValidationError("--mode must be strict or lenient, not '\(mode)'")
        }
        guard let step = Duration(parsing: stepDuration), speed > 0 else {
            throw ValidationError("--step-duration must look like 50ms, 1s or 2m, and --speed must be positive")
        }
        let catalog = try contracts.map { try ContractCatalog.load(from: $0) } ?? .bundled()
        var configuration = MockFALConfiguration(contracts: catalog, time: virtualTime ? .virtual() : .live)
        configuration.signatureTime = .live  // receivers check signatures against their own (real) clock
        configuration.host = host
        configuration.port = port
        configuration.mode = validation
        configuration.stepDuration = step / speed
        configuration.simulatedSteps = steps
        configuration.seed = seed
        configuration.journalLimit = max(1, journalLimit)
        configuration.apiKey = key
        configuration.publicBaseURL = publicBaseURL
        configuration.refuseDeprecatedApps = refuseDeprecated
        configuration.archivePolicy.allowedHosts = Set(allowHosts.map { $0.lowercased() })
        var logger = Logger(label: "mock-fal")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let queue = FALQueue(configuration: configuration, logger: logger)
        let proxy = try upstream.map { try FALProxy(queue: queue, upstream: upstreamConfiguration($0), logger: logger) }
        let app = buildApplication(configuration, queue: queue, proxy: proxy, logger: logger)
        try await app.runService()
    }

    private func upstreamConfiguration(_ url: String) throws -> UpstreamConfiguration {
        let env = ProcessInfo.processInfo.environment
        guard let key = upstreamKey ?? env["FAL_KEY"], !key.isEmpty else { throw ValidationError("--upstream needs --upstream-key or FAL_KEY") }
        guard let publicURL else { throw ValidationError("--upstream needs --public-url: where the upstream delivers its webhooks to this proxy") }
        var upstream = UpstreamConfiguration(
            baseURL: url, key: key, jwksURL: upstreamJWKS ?? env["FAL_JWKS_URL"] ?? "https://rest.alpha.fal.ai/.well-known/jwks.json",
            publicURL: publicURL)
        upstream.refuseInvalid = !forwardInvalid
        upstream.budget = PaidJobBudget(limit: maxPaidJobs)
        upstream.recorder = try record.map { try ExchangeRecorder(folder: $0, source: "recorded through the mock-fal proxy from \(url)") }
        return upstream
    }
}
