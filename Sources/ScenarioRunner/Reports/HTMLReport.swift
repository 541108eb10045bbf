import Foundation

/// One self-contained HTML page: a summary table, then a timeline per scenario (Telegram messages, FAL requests
/// with verdicts, webhooks, avatar states), failures expanded.
public enum HTMLReport {
    public static func page(_ results: [ScenarioResult], generated: Date = Date()) -> String {
        let passed = results.filter(\.passed).count
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Aisha scenarios</title><style>
            body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{margin:0 0 .3em}table{border-collapse:collapse}
            td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}.passed{color:#1a7f37}.failed{color:#cf222e}
            .skipped{color:#888}details{margin:.6em 0;border:1px solid #ddd;border-radius:6px;padding:.4em .8em}
            summary{cursor:pointer;font-weight:600}pre{white-space:pre-wrap;background:#fff5f5;padding:.6em;border-radius:4px}
            .ev{font-family:ui-monospace,monospace;font-size:12px;padding:1px 0}.t{color:#888;margin-right:.6em}
            .k{display:inline-block;width:5.5em;font-weight:600}.user{color:#0550ae}.bot{color:#1a7f37}.fal{color:#8250df}
            .webhook{color:#bc4c00}.state{color:#953800}.clock{color:#666}.system{color:#666}.failure{color:#cf222e}
            </style></head><body>
            <h1>Aisha scenarios</h1><p>\(passed) of \(results.count) passed · generated \(ISO8601DateFormatter().string(from: generated))</p>
            <table><tr><th>scenario</th><th>file</th><th>result</th><th>time</th></tr>
            """
        for result in results {
            let (label, css) = outcome(result)
            html += "<tr><td><a href=\"#\(anchor(result))\">\(escape(result.name))</a></td><td>\(escape(result.file))</td>"
            html += "<td class=\"\(css)\">\(label)</td><td>\(String(format: "%.2f s", result.seconds))</td></tr>\n"
        }
        html += "</table>\n"
        for result in results {
            let (label, css) = outcome(result)
            html += "<details id=\"\(anchor(result))\"\(result.passed ? "" : " open")><summary class=\"\(css)\">\(escape(result.name)) — \(label)</summary>\n"
            switch result.outcome {
            case .failed(let step, let line, let summary, let failure):
                html += "<pre>step \(step) (\(escape(result.file)):\(line)): \(escape(summary))\n\(escape(failure))\nrerun: \(escape(RerunCommand.line(result)))</pre>\n"
            case .invalid(let problem), .skipped(let problem):
                html += "<pre>\(escape(problem))</pre>\n"
            case .passed:
                break
            }
            let start = result.timeline.first?.time
            for event in result.timeline {
                let offset = start.map { String(format: "+%.0fs", event.time.timeIntervalSince($0)) } ?? ""
                html += "<div class=\"ev\"><span class=\"t\">\(offset)</span><span class=\"k \(event.kind.rawValue)\">\(event.kind.rawValue)</span>\(escape(event.text))</div>\n"
            }
            html += "</details>\n"
        }
        return html + "</body></html>\n"
    }

    private static func outcome(_ result: ScenarioResult) -> (String, String) {
        switch result.outcome {
        case .passed: ("passed", "passed")
        case .failed(let step, _, _, _): ("failed at step \(step)", "failed")
        case .skipped: ("skipped", "skipped")
        case .invalid: ("invalid file", "failed")
        }
    }

    private static func anchor(_ result: ScenarioResult) -> String {
        "s" + String(result.file.hashValue & 0xFFFFFF, radix: 16) + String(result.name.hashValue & 0xFFFF, radix: 16)
    }

    static func escape(_ text: String) -> String { JUnitReport.escape(text) }
}
