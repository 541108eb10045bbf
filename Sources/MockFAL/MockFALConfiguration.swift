#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// How MockFAL checks request bodies.
public enum ValidationMode: String, Sendable, Codable, CaseIterable {
    /// Unknown fields and every other contract violation are refused with FAL's 422 (the default).
    case strict
    /// Violations are accepted and recorded in the journal.
    case lenient
}

/// Everything a MockFAL server needs; `buildApplication(_:)` takes one of these.
public struct MockFALConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks a free port.
    public var port: Int = 8787
    public var mode: ValidationMode = .strict
    /// Time one simulated training step takes on the clock.
    public var stepDuration: Duration = .milliseconds(50)
    /// Steps each job runs before completing (and sending its webhook); nil = the input's own steps/iterations.
    public var simulatedSteps: Int?
    /// Seed for keys, ids of probabilistic faults and generated results.
    public var seed: UInt64 = 0
    /// When set, `Authorization: Key <apiKey>` must match exactly; otherwise any non-empty key is accepted.
    public var apiKey: String?
    /// Base URL put into response/status/cancel/file URLs; nil = taken from each request's Host header.
    public var publicBaseURL: String?
    /// When true, deprecated apps (flux-pro-trainer) answer 410 with FAL's deprecation text instead of running.
    public var refuseDeprecatedApps: Bool = false
    public var archivePolicy = ArchiveFetchPolicy()
    /// The `X-Fal-Webhook-User-Id` sent with webhooks.
    public var webhookUserId: String = "mock-fal-user"
    /// FAL retries a webhook 10 times over about 2 hours.
    public var webhookMaxAttempts: Int = 10
    public var webhookTimeout: Duration = .seconds(15)
    public var webhookRetryBase: Duration = .seconds(15)
    /// The journal keeps this many latest requests (a long staging run must not grow without bound).
    public var journalLimit = 10_000
    public var contracts: ContractCatalog
    public var time: TimeSource
    /// Where webhook signature timestamps come from (default: `time`). A receiver on real time rejects timestamps
    /// more than 300 s off, so a mock on virtual time talking to one signs with the wall clock.
    public var signatureTime: TimeSource?
    public var transport: any HTTPTransport

    public init(
        contracts: ContractCatalog, time: TimeSource = .live, transport: any HTTPTransport = AsyncHTTPClientTransport()
    ) {
        self.contracts = contracts
        self.time = time
        self.transport = transport
    }
}
