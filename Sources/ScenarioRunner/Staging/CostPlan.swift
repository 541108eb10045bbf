import Foundation
import MockFAL

/// The paid FAL jobs a staging run plans, per scenario and app: what each scenario submitted (and MockFAL accepted)
/// in a dry run against MockFAL just before, priced with the contracts' estimates.
public struct CostPlan: Sendable {
    public struct Entry: Sendable {
        public var scenario: Scenario
        public var jobs: [String: Int]
    }
    public var entries: [Entry]

    /// Plays every scenario against MockFAL on virtual time (milliseconds each) and counts the jobs it paid for.
    public static func make(_ scenarios: [Scenario], seed: UInt64, jobs: Int) async -> CostPlan {
        var options = RunOptions()
        options.seed = seed
        options.jobs = jobs
        let results = await ScenarioRunner.run(scenarios, options: options)
        return CostPlan(entries: zip(scenarios, results).map { Entry(scenario: $0, jobs: $1.paidJobs) })
    }

    /// Scenarios that would pay at FAL without having opted in with `staging: true`.
    public var notOptedIn: [Entry] { entries.filter { !$0.jobs.isEmpty && !$0.scenario.staging } }

    /// Paid jobs per app over the scenarios that will run.
    public var totals: [String: Int] {
        entries.filter { $0.scenario.staging }.reduce(into: [:]) { totals, entry in
            for (app, count) in entry.jobs { totals[app, default: 0] += count }
        }
    }

    /// The estimated price in US dollars, from the contracts' `price_estimate_usd` (apps without one count 0).
    public func estimate(_ contracts: ContractCatalog) -> Double {
        totals.reduce(0) { $0 + Double($1.value) * (contracts.contracts[$1.key]?.priceEstimateUSD ?? 0) }
    }

    /// What the run prints before anything is submitted.
    public func render(_ contracts: ContractCatalog, maxPaidJobs: Int?) -> String {
        var lines = ["Paid FAL jobs planned (from a dry run against MockFAL; prices are the contracts' estimates):"]
        for (app, count) in totals.sorted(by: { $0.key < $1.key }) {
            let price = contracts.contracts[app]?.priceEstimateUSD
            lines.append("  \(app): \(count) × \(price.map { String(format: "~$%.2f", $0) } ?? "no estimate")")
        }
        if totals.isEmpty { lines.append("  none") }
        let count = totals.values.reduce(0, +)
        lines.append(
            String(format: "  total: %d job(s), ~$%.2f", count, estimate(contracts))
                + (maxPaidJobs.map { "; capped at \($0) by --max-paid-jobs" } ?? ""))
        if !notOptedIn.isEmpty {
            lines.append("  not run (they would pay, and have no `staging: true`): \(notOptedIn.count) scenario(s)")
        }
        return lines.joined(separator: "\n")
    }
}
