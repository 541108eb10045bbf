import Foundation

/// JUnit XML: one testsuite, one testcase per scenario.
public enum JUnitReport {
    public static func xml(_ results: [ScenarioResult]) -> String {
        let failures = results.filter { if case .failed = $0.outcome { true } else if case .invalid = $0.outcome { true } else { false } }.count
        let skipped = results.filter { if case .skipped = $0.outcome { true } else { false } }.count
        let total = results.reduce(0) { $0 + $1.seconds }
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<testsuites name="aisha-scenario" tests="\#(results.count)" failures="\#(failures)" skipped="\#(skipped)" time="\#(String(format: "%.3f", total))">"#,
            #"  <testsuite name="scenarios" tests="\#(results.count)" failures="\#(failures)" skipped="\#(skipped)" time="\#(String(format: "%.3f", total))">"#,
        ]
        for result in results {
            let head = #"    <testcase classname="\#(escape(result.file))" name="\#(escape(result.name))" time="\#(String(format: "%.3f", result.seconds))""#
            switch result.outcome {
            case .passed:
                lines.append(head + "/>")
            case .skipped(let why):
                lines.append(head + ">")
                lines.append(#"      <skipped message="\#(escape(why))"/>"#)
                lines.append("    </testcase>")
            case .failed(let step, let line, let summary, let failure):
                lines.append(head + ">")
                lines.append(#"      <failure message="step \#(step) at line \#(line): \#(escape(summary))">\#(escape(failure))</failure>"#)
                lines.append("    </testcase>")
            case .invalid(let problem):
                lines.append(head + ">")
                lines.append(#"      <failure message="invalid scenario file">\#(escape(problem))</failure>"#)
                lines.append("    </testcase>")
            }
        }
        lines.append("  </testsuite>")
        lines.append("</testsuites>")
        return lines.joined(separator: "\n") + "\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
