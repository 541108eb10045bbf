import Foundation

/// Console output: a line per scenario as it finishes, then failures in full and a summary.
public enum ConsoleReport {
    public static func line(_ result: ScenarioResult) -> String {
        let time = String(format: "%.2fs", result.seconds)
        switch result.outcome {
        case .passed: return "✔ \(result.name) (\(time))"
        case .failed(let step, let line, _, _): return "✘ \(result.name) — step \(step) at \(result.file):\(line) (\(time))"
        case .skipped(let why): return "○ \(result.name) — skipped: \(why)"
        case .invalid: return "✘ \(result.file) — invalid scenario file"
        }
    }

    public static func summary(_ results: [ScenarioResult], rerunPrefix: String = "swift run aisha-scenario run") -> String {
        var text: [String] = []
        for result in results {
            switch result.outcome {
            case .failed(let step, let line, let summary, let failure):
                text.append("")
                text.append("✘ \(result.name)")
                text.append("  at \(result.file):\(line), step \(step): \(summary)")
                text.append(failure.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n"))
                let recent = result.timeline.filter { $0.kind == .bot || $0.kind == .fal }.suffix(6)
                if !recent.isEmpty {
                    text.append("  last bot messages and FAL calls:")
                    text.append(contentsOf: recent.map { "    \($0.kind.rawValue): \($0.text.prefix(200).replacingOccurrences(of: "\n", with: " ⏎ "))" })
                }
                if !result.logTail.isEmpty {
                    text.append("  last log lines:")
                    text.append(contentsOf: result.logTail.map { "    \($0.prefix(300))" })
                }
                text.append("  rerun: \(rerunPrefix) \(result.file) --filter \"\(result.name)\" --seed \(result.seed)")
            case .invalid(let problem):
                text.append("")
                text.append("✘ \(problem)")
            default:
                break
            }
        }
        let passed = results.filter(\.passed).count
        let skipped = results.filter { if case .skipped = $0.outcome { true } else { false } }.count
        let failed = results.count - passed - skipped
        text.append("")
        text.append("\(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : ""))
        return text.joined(separator: "\n")
    }
}
