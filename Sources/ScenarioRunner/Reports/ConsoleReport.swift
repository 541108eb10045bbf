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

    /// Runs of the same line as one line with its count (a poller asking every minute).
    static func collapsed(_ lines: [String]) -> [String] {
        var result: [(line: String, count: Int)] = []
        for line in lines {
            if result.last?.line == line { result[result.count - 1].count += 1 } else { result.append((line, 1)) }
        }
        return result.map { $0.count > 1 ? "\($0.line) ×\($0.count)" : $0.line }
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
                let messages = result.timeline.filter { $0.kind == .bot }.suffix(4)
                if !messages.isEmpty {
                    text.append("  last bot messages:")
                    text.append(contentsOf: messages.map { "    \($0.line.prefix(200).replacingOccurrences(of: "\n", with: " ⏎ "))" })
                }
                // Every FAL call (status polls and cancels with their answers) and webhook attempt, repeats collapsed.
                let fal = collapsed(result.timeline.filter { $0.kind == .fal || $0.kind == .webhook }.map { "\($0.kind.rawValue): \($0.text.prefix(200))" })
                if !fal.isEmpty {
                    text.append("  FAL calls and webhooks\(fal.count > 12 ? " (last 12 of \(fal.count))" : ""):")
                    text.append(contentsOf: fal.suffix(12).map { "    \($0)" })
                }
                if !result.logTail.isEmpty {
                    text.append("  last log lines:")
                    text.append(contentsOf: result.logTail.map { "    \($0.prefix(300))" })
                }
                text.append("  rerun: \(RerunCommand.line(result, prefix: rerunPrefix))")
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
