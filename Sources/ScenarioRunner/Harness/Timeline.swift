import AishaSystem
import Foundation
import MockFAL
import SupportKit

/// Builds a scenario's timeline from what each part recorded: user actions, bot messages, FAL requests with their
/// verdicts, webhook attempts and avatar state changes (noted by the executor after each step).
enum Timeline {
    static func collect(_ env: ScenarioEnvironment, userEvents: [TimelineEvent]) async -> [TimelineEvent] {
        var events = userEvents
        for message in await env.world.messages {
            let buttons = message.labels.isEmpty ? "" : "  [\(message.labels.joined(separator: " | "))]"
            events.append(TimelineEvent(time: message.time, kind: .bot, text: "→ \(message.chatId): \(message.text)\(buttons)"))
        }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for entry in await env.fal.journalEntries() {
            let problems = (entry.problems ?? []).map { "\($0.field): \($0.msg)" }.joined(separator: "; ")
            let input = entry.input.map { " input=\($0)" } ?? ""
            events.append(
                TimelineEvent(
                    time: parser.date(from: entry.time) ?? env.time.now(), kind: .fal,
                    text: "\(entry.method) \(entry.path) → \(entry.httpStatus) \(entry.verdict?.rawValue ?? "")\(problems.isEmpty ? "" : " [\(problems)]")\(input)"))
        }
        for job in await env.falJobs.snapshots() {
            for attempt in job.webhookAttempts {
                events.append(
                    TimelineEvent(
                        time: parser.date(from: attempt.time) ?? env.time.now(), kind: .webhook,
                        text: "webhook \(job.requestId.prefix(8)) copy \(attempt.copy) try \(attempt.attempt): \(attempt.outcome) \(attempt.httpStatus.map(String.init) ?? "")"))
            }
        }
        return events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }
}
