#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// A job the proxy created at the upstream, and what it has learnt of it from the calls and webhooks it relayed.
struct ProxiedJob: Sendable {
    let id: String
    let appId: String
    let input: JSONValue
    let effectiveInput: JSONValue
    /// The receiver's own webhook URL (FAL was given the proxy's).
    let webhookURL: String?
    let hook: String
    /// The proxy's address as the client used it: FAL's own URLs in answers about this job point there.
    let clientBase: String
    let totalSteps: Int
    var fault: Fault
    /// The upstream's latest queue status: `IN_QUEUE`, `IN_PROGRESS`, `COMPLETED`.
    var status = "IN_QUEUE"
    var output: JSONValue?
    var error: String?
    var errorType: String?
    var cancelled = false
    var imageCount: Int?
    var archiveBytes: Int?
    var webhookAttempts: [WebhookAttempt] = []

    var isFinished: Bool { status == "COMPLETED" || cancelled }

    /// What a status answer or a webhook body says about the job.
    mutating func learn(status body: JSONValue) {
        if let status = body["status"]?.stringValue, ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"].contains(status) { self.status = status }
        if let error = body["error"]?.stringValue { self.error = error }
        if let type = body["error_type"]?.stringValue { errorType = type }
        if errorType == "request_cancelled" { cancelled = true }
    }

    mutating func learn(webhook body: JSONValue) {
        status = "COMPLETED"
        switch body["status"]?.stringValue {
        case "OK": output = body["payload"]
        default:
            error = body["error"]?.stringValue ?? "webhook status \(body["status"]?.stringValue ?? "missing")"
            let detail = body["payload"]?["detail"]
            errorType = detail?.arrayValue?.first?["type"]?.stringValue ?? errorType
        }
    }

    /// The job as the control API shows mock jobs (`CANCELLED` and `FAILED` derived from FAL's `COMPLETED`).
    var snapshot: JobSnapshot {
        let shown: String
        if cancelled {
            shown = "CANCELLED"
        } else if status == "COMPLETED" {
            shown = error == nil ? "COMPLETED" : "FAILED"
        } else {
            shown = status
        }
        return JobSnapshot(
            requestId: id, appId: appId, status: shown, step: shown == "COMPLETED" ? totalSteps : 0, totalSteps: totalSteps,
            input: input, effectiveInput: effectiveInput, webhookURL: webhookURL, imageCount: imageCount, archiveBytes: archiveBytes,
            output: output, error: error, errorType: errorType, fault: fault, webhookAttempts: webhookAttempts)
    }
}
