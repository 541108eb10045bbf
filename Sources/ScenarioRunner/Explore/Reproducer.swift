import Foundation
import MockFAL
import SupportKit
import Yams

/// Writes a failing explore schedule as a scenario file: the original's users, configuration and faults, the
/// perturbations as explicit faults and steps, and no expectations — the invariants are what it checks.
enum Reproducer {
    static func yaml(_ scenario: Scenario, steps: [Step], schedule: [Perturbation], seed: UInt64, failures: [String]) -> String {
        let settings = originalSettings(scenario)
        var lines = [
            "name: \(quoted("explore seed \(seed) of \(scenario.name)"))",
            "reproduces: \(quoted("explore seed \(seed) of \(scenario.file): \(failures.joined(separator: ", "))"))",
            "description: >",
            "  Written by aisha-scenario explore. It keeps the scenario's actions and the perturbations the failure needs",
            "  (\(schedule.isEmpty ? "none" : schedule.map(\.description).joined(separator: "; "))); the invariants check it.",
            "  Work that happens at one instant of virtual time may run in another order than in the explore run: if this",
            "  file passes before the fix, rerun the seed: aisha-scenario explore \(RerunCommand.quote(scenario.file)) --seed \(seed) --seeds 1",
            "settles: true",
        ]
        for key in ["user", "users", "config", "fal", "needs"] {
            if let value = settings[key] { lines.append("\(key): \(value.description)") }
        }
        // The original's expectations that asked for a refusal are not in this file: what they allowed stays allowed.
        var allowed = scenario.allowed
        for step in scenario.steps {
            if case .expectFALCalls(_, _, _, _?) = step.action { allowed.insert(.noUnaskedRefusal) }
            if case .expectFALSubmit(let expectation) = step.action, expectation.verdict != nil { allowed.insert(.submitsMeetContract) }
        }
        if !allowed.isEmpty { lines.append("allow: [\(allowed.map(\.rawValue).sorted().joined(separator: ", "))]") }
        // The perturbations in place: crash point, fault rules and inserted steps, as the explore run had them.
        let perturbed = Perturbation.apply(schedule, to: scenario, steps: steps)
        if let point = perturbed.crashAt { lines.append("crash_at: \(point.rawValue)") }
        if !perturbed.faults.isEmpty {
            lines.append("faults:")
            lines += perturbed.faults.map { "  - \(Matching.render(try? JSONValue.from($0)))" }
        }
        lines.append("steps:")
        lines += perturbed.steps.map { "  - \($0.summary)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The top-level settings of the scenario as written in its file (users, config, fal, needs, allow).
    private static func originalSettings(_ scenario: Scenario) -> [String: JSONValue] {
        guard let text = try? String(contentsOfFile: scenario.file, encoding: .utf8), let root = try? Yams.compose(yaml: text) else { return [:] }
        let reader = YAMLReader(file: scenario.file)
        let nodes = root.sequence.map(Array.init) ?? [root]
        guard let node = nodes.first(where: { $0.mapping?["name"]?.string == scenario.name }), let mapping = node.mapping else { return [:] }
        var settings: [String: JSONValue] = [:]
        for (key, value) in mapping {
            if let name = key.string { settings[name] = reader.json(value) }
        }
        return settings
    }

    static func quoted(_ text: String) -> String { JSONValue.string(text).description }

    static func slug(_ text: String) -> String {
        let kept = text.lowercased().unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "-" }
        return String(String(kept).split(separator: "-").joined(separator: "-").prefix(50))
    }
}
