import Foundation
import MockFAL

/// Where `--fal real` trains: FAL's queue (or any FAL-compatible server), reached with `FAL_KEY`, its webhooks signed
/// with the keys at `FAL_JWKS_URL`. FAL reaches the run's staging gateway (webhooks, archives) at `PUBLIC_BASE_URL`,
/// which must lead to `HOST:PORT` on this machine.
public struct StagingTarget: Sendable {
    public var key: String
    public var queueBaseURL: String
    public var jwksURL: String
    public var publicBaseURL: String
    public var host: String
    public var port: Int

    public init(key: String, queueBaseURL: String, jwksURL: String, publicBaseURL: String, host: String = "0.0.0.0", port: Int = 8000) {
        self.key = key
        self.queueBaseURL = queueBaseURL
        self.jwksURL = jwksURL
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        self.host = host
        self.port = port
    }

    /// Every FAL setting AishaSystem knows, from the same variables (a stand-in or a regional endpoint works
    /// unchanged); a missing one is named.
    public static func fromEnvironment(_ env: [String: String]) -> Result<StagingTarget, StepFailure> {
        guard let key = env["FAL_KEY"], !key.isEmpty else { return .failure(StepFailure(message: "--fal real needs FAL_KEY")) }
        guard let url = env["PUBLIC_BASE_URL"], !url.isEmpty else {
            return .failure(StepFailure(message: "--fal real needs PUBLIC_BASE_URL (an address FAL can reach, forwarded to PORT)"))
        }
        guard let port = Int(env["PORT"] ?? "8000"), (0...65_535).contains(port) else {
            return .failure(StepFailure(message: "PORT must be a port number, not '\(env["PORT"] ?? "")'"))
        }
        return .success(
            StagingTarget(
                key: key, queueBaseURL: env["FAL_QUEUE_BASE_URL"] ?? "https://queue.fal.run",
                jwksURL: env["FAL_JWKS_URL"] ?? "https://rest.alpha.fal.ai/.well-known/jwks.json", publicBaseURL: url,
                host: env["HOST"] ?? "0.0.0.0", port: port))
    }
}

/// What a staging run shares across its scenarios: the target, the gateway on the forwarded port, the paid-job
/// budget, the recorder, and every proxy still running (cancelled on abort).
public final class StagingRun: Sendable {
    public let target: StagingTarget
    public let budget: PaidJobBudget
    public let recorder: ExchangeRecorder?
    /// `advance: D` lets up to D × this of real time pass (slow trainers).
    public let timeScale: Double
    let gateway: StagingGateway

    private init(target: StagingTarget, budget: PaidJobBudget, recorder: ExchangeRecorder?, timeScale: Double, gateway: StagingGateway) {
        self.target = target
        self.budget = budget
        self.recorder = recorder
        self.timeScale = timeScale
        self.gateway = gateway
    }

    /// Starts the gateway on `target.host:target.port`.
    public static func start(
        _ target: StagingTarget, maxPaidJobs: Int?, recordFolder: String?, timeScale: Double = 1
    ) async throws -> StagingRun {
        let recorder = try recordFolder.map { try ExchangeRecorder(folder: $0, source: "recorded through the mock-fal proxy from \(target.queueBaseURL)") }
        let gateway = try await StagingGateway.start(host: target.host, port: target.port)
        return StagingRun(target: target, budget: PaidJobBudget(limit: maxPaidJobs), recorder: recorder, timeScale: timeScale, gateway: gateway)
    }

    /// Cancels what every scenario still has running at FAL (an abort), then stops the gateway.
    public func stop() async -> [InFlightCancel] {
        var cancels: [InFlightCancel] = []
        for proxy in gateway.proxies() { cancels += await proxy.cancelInFlight() }
        await gateway.stop()
        return cancels
    }

    /// The URL prefix FAL uses for one scenario.
    func publicPrefix(_ scenarioId: String) -> String { "\(target.publicBaseURL)/s/\(scenarioId)" }
}
