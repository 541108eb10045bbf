import AishaSystem
import Foundation
import MockFAL
import SupportKit

/// Builds a scenario's timeline from what each part recorded — user actions, the bot's Bot API calls (messages,
/// edits, toasts, refusals), FAL requests with their verdicts, webhook attempts and avatar state changes — in the
/// run's one order of events.
enum Timeline {
    static func collect(_ env: ScenarioEnvironment, userEvents: [TimelineEvent]) async -> [TimelineEvent] {
        var events = userEvents
        for call in await env.world.calls { if let event = event(call) { events.append(event) } }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for entry in await env.fal.journalEntries() {
            let problems = (entry.problems ?? []).map { "\($0.field): \($0.msg)" }.joined(separator: "; ")
            let input = entry.input.map { " input=\($0)" } ?? ""
            events.append(
                TimelineEvent(
                    time: parser.date(from: entry.time) ?? env.time.now(), kind: .fal,
                    text: "\(entry.method) \(entry.path) → \(entry.httpStatus) \(entry.verdict?.rawValue ?? "")\(problems.isEmpty ? "" : " [\(problems)]")\(input)",
                    order: entry.order))
        }
        for job in await env.falJobs.snapshots() {
            for attempt in job.webhookAttempts {
                events.append(
                    TimelineEvent(
                        time: parser.date(from: attempt.time) ?? env.time.now(), kind: .webhook,
                        text: "webhook \(job.requestId.prefix(8)) copy \(attempt.copy) try \(attempt.attempt): \(attempt.outcome.rawValue) \(attempt.httpStatus.map(String.init) ?? "")",
                        order: attempt.order))
            }
        }
        return events.sorted { $0.order < $1.order }
    }

    /// A Bot API call as the chat shows it (a message, an edit, a toast) or, refused, in the side lane.
    static func event(_ call: BotAPICall) -> TimelineEvent? {
        let ok = (200..<300).contains(call.status)
        let buttons = call.buttons ?? []
        switch (call.method, ok) {
        case ("sendmessage", true):
            return TimelineEvent(time: call.time, kind: .bot, text: call.text ?? "", chat: call.chatId, buttons: buttons, order: call.order)
        case ("sendphoto", true), ("sendmediagroup", true):
            let what = call.method == "sendphoto" ? "🖼 photo" : "🖼 album"
            return TimelineEvent(time: call.time, kind: .bot, text: "\(what): \(call.text ?? "")", chat: call.chatId, order: call.order)
        case ("editmessagetext", true):
            return TimelineEvent(time: call.time, kind: .edit, text: call.text ?? "", chat: call.chatId, buttons: buttons, order: call.order)
        case ("editmessagereplymarkup", true):
            let which = call.editedText.map { text in
                let line = text.prefix { $0 != "\n" }
                return " of «\(line.count > 48 ? line.prefix(47) + "…" : line)»"
            } ?? ""
            let text = (buttons.isEmpty ? "keyboard removed" : "keyboard changed") + which
            return TimelineEvent(time: call.time, kind: .edit, text: text, chat: call.chatId, buttons: buttons, order: call.order)
        case ("deletemessage", true):
            return TimelineEvent(time: call.time, kind: .edit, text: "message deleted", chat: call.chatId, order: call.order)
        case ("answercallbackquery", true):
            guard let text = call.text else { return nil }
            return TimelineEvent(time: call.time, kind: .toast, text: (call.alert == true ? "⚠️ " : "") + text, chat: call.chatId, order: call.order)
        case (_, false):
            let why = call.description.map { " \($0)" } ?? ""
            return TimelineEvent(time: call.time, kind: .system, text: "Telegram \(call.method) → \(call.status)\(why) (\(call.cause.rawValue))", order: call.order)
        case (_, true):
            return nil  // getFile, setWebhook, getMe: plumbing, not conversation
        }
    }
}
