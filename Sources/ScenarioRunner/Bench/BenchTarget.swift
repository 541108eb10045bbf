import Foundation

/// A goal a figure should meet (issue 8's targets); `bench --check` exits 1 when one is missed.
public struct BenchTarget: Sendable, Codable, Equatable {
    public enum Bound: String, Sendable, Codable { case atMost = "≤", atLeast = "≥" }

    public var bound: Bound
    public var value: Double

    public init(bound: Bound, value: Double) {
        self.bound = bound
        self.value = value
    }

    public func isMet(by measured: Double) -> Bool { bound == .atMost ? measured <= value : measured >= value }

    public var description: String { "\(bound.rawValue) \(value.formatted(.number.grouping(.never)))" }

    /// The suite's: 40 scenarios or more in 5 s with every core.
    static let suite = BenchTarget(bound: .atMost, value: 5)

    /// The target of a figure, by its name (the suite's is set where its scenarios are counted).
    static func forFigure(_ name: String) -> BenchTarget? {
        switch name {
        case "lifecycle median": BenchTarget(bound: .atMost, value: 50)
        case "mock-fal status": BenchTarget(bound: .atLeast, value: 20_000)
        case "status_update ingestion (SQLite)": BenchTarget(bound: .atLeast, value: 5_000)
        case "mock-fal RSS idle": BenchTarget(bound: .atMost, value: 30)
        case "explore runs per 2 min": BenchTarget(bound: .atLeast, value: 1_000)
        default: nil
        }
    }
}

extension BenchFigure {
    /// Whether the figure meets its target (nil without one).
    public var met: Bool? { target.map { $0.isMet(by: value) } }

    /// `[target ≤ 50 ✔]`, or nothing without a target.
    var targetMark: String { target.map { "[target \($0.description) \($0.isMet(by: value) ? "✔" : "✘")]" } ?? "" }
}
