#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// A webhook waiting to be sent (held back by a `reorder` fault).
struct PendingWebhook: Sendable {
    let jobId: String
    let copy: Int
}

extension FALQueue {
    /// FAL's webhook body for a finished job: `OK` + output, or `ERROR` + the error body.
    func webhookBody(for job: Job) -> JSONValue? {
        switch job.phase {
        case .succeeded(let output):
            return ["request_id": .string(job.id), "gateway_request_id": .string(job.id), "status": "OK", "payload": output]
        case .failed(let failure):
            return [
                "request_id": .string(job.id), "gateway_request_id": .string(job.id), "status": "ERROR",
                "error": .string("Invalid status code: \(failure.httpStatus)"), "payload": failure.body,
            ]
        default:
            return nil
        }
    }

    /// Starts delivery of a finished job's webhook, applying its webhook fault.
    func scheduleWebhook(_ id: String) {
        guard let job = jobs[id], job.webhookURL != nil else { return }
        var copies = 1
        var notBefore: Date?
        switch job.fault.webhook {
        case .drop:
            noteAttempt(id, copy: 1, attempt: 0, outcome: .dropped)
            return
        case .reorder:
            noteAttempt(id, copy: 1, attempt: 0, outcome: .held)
            heldWebhooks.append(PendingWebhook(jobId: id, copy: 1))
            return
        case .duplicate:
            copies = max(1, job.fault.webhookCopies ?? 2)
        case .delay:
            notBefore = now.addingTimeInterval(job.fault.webhookDelaySeconds ?? 60)
        case nil:
            break
        }
        let start = notBefore
        for copy in 1...copies {
            if start == nil { busy += 1 }
            spawn { await $0.deliver(id, copy: copy, notBefore: start) }
        }
    }

    /// Sends one copy, retrying with exponential backoff on the clock. The caller has counted the first send as busy
    /// unless it waits for `notBefore`. Wait times are absolute, so a task that starts late keeps the schedule.
    func deliver(_ id: String, copy: Int, notBefore: Date?) async {
        if let notBefore {
            do { try await configuration.time.sleep(until: notBefore) } catch { return }
            busy += 1
        }
        for attempt in 1...max(1, configuration.webhookMaxAttempts) {
            guard let job = jobs[id], let url = job.webhookURL, let body = webhookBody(for: job),
                let data = try? body.jsonData()
            else { return busyDone() }
            var headers = keyRing.headers(
                requestId: id, userId: configuration.webhookUserId,
                timestamp: Int((configuration.signatureTime ?? configuration.time).now().timeIntervalSince1970), body: data)
            headers.append(("Content-Type", "application/json"))
            let request = OutgoingRequest(
                method: "POST", url: url, headers: headers, body: data, timeout: configuration.webhookTimeout,
                maxResponseBytes: 1024 * 1024)
            let status: Int?
            var failure: String?
            do {
                status = try await configuration.transport.send(request).status
            } catch {
                status = nil
                failure = String(describing: error)
            }
            let delivered = status.map { (200..<300).contains($0) } ?? false
            noteAttempt(id, copy: copy, attempt: attempt, outcome: delivered ? .delivered : .failed, status: status, error: failure)
            if delivered {
                logger.info("webhook delivered", metadata: ["request_id": "\(id)", "copy": "\(copy)"])
                releaseHeldWebhooks(after: id)
                return busyDone()
            }
            busyDone()
            guard attempt < configuration.webhookMaxAttempts else { break }
            let backoff = configuration.webhookRetryBase * (1 << min(attempt - 1, 7))
            do { try await configuration.time.sleep(until: now.addingTimeInterval(backoff.timeInterval)) } catch { return }
            busy += 1
        }
        noteAttempt(id, copy: copy, attempt: configuration.webhookMaxAttempts, outcome: .gaveUp)
        logger.warning("webhook given up", metadata: ["request_id": "\(id)"])
    }

    /// Sends webhooks held by `reorder` once another job's webhook went out first.
    func releaseHeldWebhooks(after deliveredId: String) {
        let ready = heldWebhooks.filter { $0.jobId != deliveredId }
        heldWebhooks.removeAll { $0.jobId != deliveredId }
        for held in ready {
            busy += 1
            spawn { await $0.deliver(held.jobId, copy: held.copy, notBefore: nil) }
        }
    }

    func noteAttempt(_ id: String, copy: Int, attempt: Int, outcome: WebhookAttempt.Outcome, status: Int? = nil, error: String? = nil) {
        jobs[id]?.webhookAttempts.append(WebhookAttempt(date: now, copy: copy, attempt: attempt, outcome: outcome, httpStatus: status, error: error))
    }
}
