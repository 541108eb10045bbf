import Foundation

/// One self-contained HTML page (no network): a summary table, then each scenario as the chat a person saw — user
/// bubbles right, bot bubbles left with their buttons, edits and toasts where they happened — beside a lane of FAL
/// calls, webhooks, stored state and the clock, all in the run's one order of events. A failed step is marked where
/// it happened, with its expected/actual diff; the page opens at the first failure.
public enum HTMLReport {
    public static func page(_ results: [ScenarioResult], generated: Date = Date()) -> String {
        let passed = results.filter(\.passed).count
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Aisha scenarios</title><style>\(style)</style></head><body>
            <h1>Aisha scenarios</h1><p>\(passed) of \(results.count) passed · generated \(ISO8601DateFormatter().string(from: generated))</p>
            <table><tr><th>scenario</th><th>file</th><th>result</th><th>time</th></tr>
            """
        for result in results {
            let (label, css) = outcome(result)
            html += "<tr><td><a href=\"#\(anchor(result))\">\(escape(result.name))</a></td><td>\(escape(result.file))</td>"
            html += "<td class=\"\(css)\">\(label)</td><td>\(String(format: "%.2f s", result.seconds))</td></tr>\n"
        }
        html += "</table>\n"
        var firstFailure = true
        for result in results {
            let (label, css) = outcome(result)
            let messages = result.timeline.filter { $0.kind == .bot }.count
            html += "<details id=\"\(anchor(result))\" class=\"scenario\" data-bot-messages=\"\(messages)\"\(result.passed ? "" : " open")>"
            html += "<summary class=\"\(css)\">\(escape(result.name)) — \(label)</summary>\n"
            switch result.outcome {
            case .failed(_, _, _, _), .passed: break
            case .invalid(let problem), .skipped(let problem): html += "<pre class=\"problem\">\(escape(problem))</pre>\n"
            }
            html += "<div class=\"chat\">\n"
            let start = result.timeline.first?.time
            for event in result.timeline {
                let offset = start.map { clock(event.time.timeIntervalSince($0)) } ?? ""
                html += row(event, offset: offset, result: result, firstFailure: &firstFailure)
            }
            html += "</div></details>\n"
        }
        // Opens the page at the first failure (no network: the script is here).
        html += "<script>addEventListener('load',()=>{const f=document.getElementById('first-failure');if(f){f.scrollIntoView({block:'center'})}})</script>\n"
        return html + "</body></html>\n"
    }

    private static func row(_ event: TimelineEvent, offset: String, result: ScenarioResult, firstFailure: inout Bool) -> String {
        let time = "<span class=\"t\">\(offset)</span>"
        switch event.kind {
        case .user:
            return "<div class=\"c user\"><div class=\"bubble user\">\(escape(event.text))\(time)</div></div>\n"
        case .bot:
            return "<div class=\"c bot\"><div class=\"bubble bot\">\(escape(event.text))\(keyboard(event.buttons))\(time)</div></div>\n"
        case .edit:
            return "<div class=\"c bot\"><div class=\"edit\">✎ edited: \(escape(event.text))\(keyboard(event.buttons))\(time)</div></div>\n"
        case .toast:
            return "<div class=\"c bot\"><div class=\"toast\">\(escape(event.text))\(time)</div></div>\n"
        case .failure:
            let id = firstFailure ? " id=\"first-failure\"" : ""
            firstFailure = false
            var detail = event.text
            if case .failed(let step, let line, let summary, let failure) = result.outcome {
                detail = "step \(step) (\(result.file):\(line)): \(summary)\n\(failure)\nrerun: \(RerunCommand.line(result))"
            }
            return "<div class=\"failure\"\(id)><b>✘ \(escape(event.text.split(separator: "\n").first.map(String.init) ?? ""))</b><pre>\(escape(detail))</pre></div>\n"
        case .fal, .webhook, .state, .clock, .system:
            return "<div class=\"lane \(event.kind.rawValue)\"><span class=\"k\">\(event.kind.rawValue)</span> \(escape(event.text))\(time)</div>\n"
        }
    }

    private static func keyboard(_ buttons: [String]) -> String {
        buttons.isEmpty ? "" : "<div class=\"kb\">" + buttons.map { "<span class=\"btn\">\(escape($0))</span>" }.joined() + "</div>"
    }

    private static func clock(_ seconds: Double) -> String {
        let s = Int(seconds)
        return s >= 3600 ? String(format: "+%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "+%d:%02d", s / 60, s % 60)
    }

    private static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;background:#fafafa}h1{margin:0 0 .3em}table{border-collapse:collapse}
        td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}.passed{color:#1a7f37}.failed{color:#cf222e}.skipped{color:#888}
        details.scenario{margin:1em 0;border:1px solid #ddd;border-radius:8px;padding:.4em .8em;background:#fff}summary{cursor:pointer;font-weight:600}
        pre{white-space:pre-wrap;margin:.3em 0;font-size:12px}.chat{display:grid;grid-template-columns:minmax(320px,560px) 1fr;column-gap:1.5em;
        row-gap:4px;margin-top:.6em}.c{grid-column:1;display:flex}.c.user{justify-content:flex-end}.c.bot{justify-content:flex-start}
        .bubble{max-width:80%;padding:.45em .7em;border-radius:12px;white-space:pre-wrap}.bubble.user{background:#d9f2ff;border-bottom-right-radius:3px}
        .bubble.bot{background:#eef0f2;border-bottom-left-radius:3px}.edit{max-width:80%;padding:.3em .6em;border:1px dashed #aab;border-radius:10px;
        color:#556;font-size:12px;white-space:pre-wrap}.toast{padding:.2em .7em;border-radius:14px;background:#333;color:#fff;font-size:12px}
        .kb{display:flex;flex-wrap:wrap;gap:4px;margin-top:.4em}.btn{border:1px solid #7aa7d8;color:#1f5fa8;border-radius:6px;padding:1px 8px;font-size:12px;
        background:#fff}.t{display:block;text-align:right;color:#999;font-size:10px}.lane{grid-column:2;font:11px ui-monospace,monospace;color:#555;
        border-left:3px solid #ddd;padding-left:.5em;overflow-wrap:anywhere}.lane .t{display:inline;margin-left:.5em}.k{font-weight:700}
        .lane.fal{border-color:#8250df}.lane.webhook{border-color:#bc4c00}.lane.state{border-color:#953800;color:#953800}.lane.system{border-color:#cf222e}
        .failure{grid-column:1/3;background:#fff0f0;border:2px solid #cf222e;border-radius:8px;padding:.4em .8em;color:#a40e26}.problem{background:#fff5f5}
        """

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
