#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// Why a job ended without output: FAL's HTTP status, its `detail` body, and the status-level error fields.
public struct JobFailure: Error, Sendable, Codable, Hashable {
    public var httpStatus: Int
    public var body: JSONValue
    public var message: String
    public var errorType: String

    /// A 422 with one `detail` element (input and file errors).
    static func unprocessable(field: String, msg: String, type: String, input: JSONValue?, ctx: [String: JSONValue]? = nil) -> JobFailure {
        let problem = ValidationProblem(loc: ["body", .string(field)], msg: msg, type: type, ctx: ctx, input: input)
        let body: JSONValue = ["detail": .array([(try? JSONValue.from(problem)) ?? .null])]
        return JobFailure(httpStatus: 422, body: body, message: msg, errorType: type)
    }
}

/// Where a job is in its life.
public enum JobPhase: Sendable, Hashable {
    case queued
    case running
    case succeeded(output: JSONValue)
    case failed(JobFailure)
    case cancelled

    var isFinished: Bool {
        switch self {
        case .queued, .running: false
        default: true
        }
    }
}

/// One log line, as FAL's status endpoint returns it.
public struct JobLog: Sendable, Codable, Hashable {
    public var message: String
    public var level: String
    public var source: String
    public var timestamp: String
}

/// A submitted request and everything MockFAL knows about it.
struct Job: Sendable {
    let id: String
    let appId: String
    let contract: AppContract
    let input: JSONValue
    let effectiveInput: JSONValue
    let webhookURL: String?
    let baseURL: String
    let submittedAt: Date
    var fault: Fault
    let totalSteps: Int
    var phase: JobPhase = .queued
    var startedAt: Date?
    var finishedAt: Date?
    var imageCount: Int?
    var archiveBytes: Int?
    var webhookAttempts: [WebhookAttempt] = []

    /// The owner/app prefix used by status, result and cancel URLs.
    var urlPrefix: String { appId.split(separator: "/").prefix(2).joined(separator: "/") }

    func url(_ suffix: String) -> String { "\(baseURL)/\(urlPrefix)/requests/\(id)\(suffix)" }

    /// The step at which the job stops: the fault's failure step when it comes first, else the last step.
    var finalStep: Int {
        if let failAt = fault.failAtStep, failAt < totalSteps { return max(0, failAt) }
        return totalSteps
    }

    /// Steps done at `now`, derived from the start time and the step duration (virtual or real).
    func step(at now: Date, stepDuration: Duration) -> Int {
        if case .succeeded = phase { return totalSteps }
        guard let startedAt else { return 0 }
        let elapsed = (finishedAt ?? now).timeIntervalSince(startedAt)
        let seconds = stepDuration.timeInterval
        let done = seconds > 0 ? Int((elapsed / seconds).rounded(.down)) : finalStep
        return min(finalStep, max(0, done))
    }

    /// The logs FAL would show at `now`: the dataset line, progress every tenth of the run, the outcome.
    func logs(at now: Date, stepDuration: Duration) -> [JobLog] {
        var logs: [JobLog] = []
        func add(_ message: String, _ date: Date, level: String = "INFO") {
            logs.append(JobLog(message: message, level: level, source: "USER", timestamp: Self.timestamp(date)))
        }
        if let startedAt {
            if let imageCount { add("Found \(imageCount) images in the training archive", startedAt) }
            let current = step(at: now, stepDuration: stepDuration)
            let every = max(1, totalSteps / 10)
            for reported in stride(from: every, through: current, by: every) {
                let at = startedAt.addingTimeInterval(Double(reported) * stepDuration.timeInterval)
                add("step \(reported)/\(totalSteps)", at)
            }
        }
        let end = finishedAt ?? now
        switch phase {
        case .succeeded: add("Training completed", end)
        case .failed(let failure): add(failure.message, end, level: "ERROR")
        case .cancelled: add("Request cancelled", end, level: "WARNING")
        case .queued, .running: break
        }
        return logs
    }

    static func timestamp(_ date: Date) -> String { UTCTimestamp.iso8601(date) }
}

/// One try at delivering a webhook.
public struct WebhookAttempt: Sendable, Encodable, Hashable {
    /// What became of a try.
    public enum Outcome: String, Sendable, Encodable, Hashable {
        /// The receiver answered 2xx.
        case delivered
        /// The receiver answered otherwise, or could not be reached (retried while tries remain).
        case failed
        /// A fault dropped it: never sent.
        case dropped
        /// A fault holds it until another job's webhook has gone out (reordering).
        case held
        /// Every try failed.
        case gaveUp = "gave_up"
    }

    /// When, as on the wire (`date` as an ISO 8601 string).
    public var time: String
    /// When (not on the wire).
    public var date: Date
    public var copy: Int
    public var attempt: Int
    public var outcome: Outcome
    public var httpStatus: Int?
    public var error: String?
    /// Its place in the run's one sequence of events (reports; not on the wire).
    public var order = EventOrder.next()

    public init(date: Date, copy: Int, attempt: Int, outcome: Outcome, httpStatus: Int? = nil, error: String? = nil) {
        self.time = Job.timestamp(date)
        self.date = date
        self.copy = copy
        self.attempt = attempt
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case time, copy, attempt, outcome, httpStatus = "http_status", error
    }
}
