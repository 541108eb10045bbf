#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// The real FAL (or a FAL-compatible server) behind MockFAL in proxy mode (`mock-fal --upstream URL`).
public struct UpstreamConfiguration: Sendable {
    /// The upstream queue, e.g. `https://queue.fal.run`.
    public var baseURL: String
    /// Sent upstream as `Authorization: Key …` (clients of the proxy may use any key).
    public var key: String
    /// Where the upstream publishes its webhook keys (FAL: `https://rest.alpha.fal.ai/.well-known/jwks.json`).
    public var jwksURL: String
    /// How the upstream reaches this proxy (its webhooks, dead archive URLs); a path prefix is allowed.
    public var publicURL: String
    /// A submit that breaks the contract is answered with the 422 here and never reaches (or costs money at) the upstream.
    public var refuseInvalid = true
    /// Paid jobs this proxy (and any sharing the budget) may still create upstream.
    public var budget = PaidJobBudget(limit: nil)
    /// Writes every exchange of a job to a file of its own (`--record DIR`).
    public var recorder: ExchangeRecorder?
    /// How long the upstream may take to answer one call.
    public var timeout: Duration = .seconds(60)

    public init(baseURL: String, key: String, jwksURL: String, publicURL: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.key = key
        self.jwksURL = jwksURL
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
    }
}

/// The cap on paid jobs of a staging run (`--max-paid-jobs N`): the N+1th submit is refused before it leaves.
public actor PaidJobBudget {
    public let limit: Int?
    public private(set) var used = 0

    public init(limit: Int?) { self.limit = limit }

    /// Runs `submit` on one reserved paid job; the reservation stays spent only when `submit` reports that the
    /// upstream created a job. Nil, without calling `submit`, when the cap is reached.
    func spending<T: Sendable>(_ submit: @Sendable () async -> (T, paid: Bool)) async -> T? {
        if let limit, used >= limit { return nil }
        used += 1
        let (value, paid) = await submit()
        if !paid { used -= 1 }
        return value
    }
}

/// Public URL prefixes that lead to servers on this machine (the staging gateway's routes): the proxy delivers
/// webhooks and inspects archives there directly instead of going out and back in through the public address.
struct LocalRoutes: Sendable {
    private var routes: [(prefix: String, base: String)] = []

    mutating func add(prefix: String, base: String) {
        routes.removeAll { $0.prefix == prefix }
        routes.append((prefix, base))
    }

    func resolve(_ url: String) -> String {
        for route in routes where url == route.prefix || url.hasPrefix(route.prefix + "/") || url.hasPrefix(route.prefix + "?") {
            return route.base + url.dropFirst(route.prefix.count)
        }
        return url
    }
}
