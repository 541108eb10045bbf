#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// Which queue call, or delivery, a journal entry or a recorded exchange is.
public enum CallKind: String, Sendable, Codable, Hashable, CaseIterable {
    case submit, status, result, cancel, webhook
}

/// What MockFAL made of a submit (and, in proxy mode, of a webhook's signature).
public enum Verdict: String, Sendable, Codable, Hashable, CaseIterable {
    /// The input met the contract (a webhook: FAL's signature checked out).
    case accepted
    /// Refused with FAL's 422 (a webhook: its signature did not check out).
    case rejected
    /// Problems found and let through (lenient mode, or a proxy told to forward invalid input).
    case recorded
    /// Refused by the paid-job cap before it reached FAL.
    case capped
    /// No contract for the app: forwarded unchecked.
    case unchecked
}

/// One request MockFAL answered, with its validation verdict.
public struct JournalEntry: Sendable, Codable, Hashable {
    public var seq: Int
    public var time: String
    public var method: String
    public var path: String
    public var kind: CallKind
    public var appId: String?
    public var requestId: String?
    public var httpStatus: Int
    /// Submits only: the body as sent.
    public var input: JSONValue?
    /// Submits (and proxied webhooks) only.
    public var verdict: Verdict?
    public var problems: [ValidationProblem]?
    public var webhookURL: String?
    /// Its place in the run's one sequence of events (reports; not on the wire).
    public var order = EventOrder.next()

    enum CodingKeys: String, CodingKey {
        case seq, time, method, path, kind, appId = "app_id", requestId = "request_id", httpStatus = "http_status"
        case input, verdict, problems, webhookURL = "webhook_url"
    }
}

/// A job as the control API shows it.
public struct JobSnapshot: Sendable, Encodable, Hashable {
    public var requestId: String
    public var appId: String
    public var status: String
    public var step: Int
    public var totalSteps: Int
    public var input: JSONValue
    public var effectiveInput: JSONValue
    public var webhookURL: String?
    public var imageCount: Int?
    public var archiveBytes: Int?
    public var output: JSONValue?
    public var error: String?
    public var errorType: String?
    public var fault: Fault
    public var webhookAttempts: [WebhookAttempt]

    enum CodingKeys: String, CodingKey {
        case requestId = "request_id", appId = "app_id", status, step, totalSteps = "total_steps", input
        case effectiveInput = "effective_input", webhookURL = "webhook_url", imageCount = "image_count"
        case archiveBytes = "archive_bytes", output, error, errorType = "error_type", fault
        case webhookAttempts = "webhook_attempts"
    }
}

/// An answer of the queue API, ready to be written by the HTTP layer.
public struct QueueReply: Sendable {
    public var status: Int
    public var body: JSONValue
    public var headers: [(String, String)]
    /// Held back this long on the clock before answering (slow-response fault).
    public var delay: Duration?
    /// The exact bytes to send instead of `body` (an upstream's answer relayed by the proxy).
    public var raw: Data?

    public init(status: Int, body: JSONValue, headers: [(String, String)] = [], delay: Duration? = nil) {
        self.status = status
        self.body = body
        self.headers = headers
        self.delay = delay
    }

    /// An answer relayed as received: its bytes, its content type.
    init(status: Int, raw: Data, headers: [(String, String)]) {
        self.status = status
        self.body = (try? JSONValue.parse(raw)) ?? .null
        self.headers = headers
        self.raw = raw
    }

    static func detail(_ status: Int, _ message: String) -> QueueReply {
        QueueReply(status: status, body: ["detail": .string(message)])
    }
}
