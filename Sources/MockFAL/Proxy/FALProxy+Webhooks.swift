#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// Where the proxy relays an upstream webhook, and the faults it applies on the way.
struct HookTarget: Sendable {
    let url: String?
    let appId: String
    let fault: Fault
}

/// A webhook the proxy holds back (`reorder`) until another job's is delivered.
struct HeldWebhook: Sendable {
    let hook: String
    let requestId: String
    let headers: [(String, String)]
    let body: Data
}

extension FALProxy {
    /// `POST /_proxy/webhooks/{hook}` from the upstream: checks FAL's signature, journals the delivery, applies the
    /// job's webhook fault and relays it byte-identical, with FAL's headers, to the receiver's own URL. Answers the
    /// upstream with the receiver's status when relayed at once (so FAL's own retries apply), else 200.
    public func receiveWebhook(hook: String, headers: [(String, String)], body: Data) async -> Int {
        guard let target = hooks[hook] else { return 404 }
        let parsed = (try? JSONValue.parse(body)) ?? .null
        let requestId = parsed["request_id"]?.stringValue ?? headers.first { $0.0.lowercased() == "x-fal-webhook-request-id" }?.1 ?? ""
        var entry = await queue.newEntry(method: "POST", path: "/_proxy/webhooks/\(hook)", kind: .webhook)
        entry.requestId = requestId
        entry.appId = target.appId
        entry.webhookURL = target.url
        entry.input = parsed
        if let problem = await keys.verify(headers: headers, body: body) {
            entry.verdict = .rejected
            entry.problems = [ValidationProblem(loc: ["header", "x-fal-webhook-signature"], msg: problem.description, type: "signature")]
            logger.warning("upstream webhook signature not accepted", metadata: ["request_id": "\(requestId)", "problem": "\(problem)"])
        } else {
            entry.verdict = .accepted
        }
        jobs[requestId]?.learn(webhook: parsed)
        let fault = target.fault.merged(with: await queue.requestFault(requestId))
        let relayed = relayable(headers)
        var answer = 200
        switch fault.webhook {
        case .drop:
            note(requestId, copy: 1, attempt: 0, outcome: .dropped)
        case .reorder:
            note(requestId, copy: 1, attempt: 0, outcome: .held)
            held.append(HeldWebhook(hook: hook, requestId: requestId, headers: relayed, body: body))
        case .delay:
            let at = configuration.time.now().addingTimeInterval(fault.webhookDelaySeconds ?? 60)
            Task { await self.deliverWithRetries(hook: hook, requestId: requestId, copy: 1, headers: relayed, body: body, notBefore: at) }
        case .duplicate:
            answer = await relay(hook: hook, requestId: requestId, copy: 1, attempt: 1, headers: relayed, body: body)
            for copy in 2...max(2, fault.webhookCopies ?? 2) {
                _ = await relay(hook: hook, requestId: requestId, copy: copy, attempt: 1, headers: relayed, body: body)
            }
        case nil:
            answer = await relay(hook: hook, requestId: requestId, copy: 1, attempt: 1, headers: relayed, body: body)
        }
        entry.httpStatus = answer
        await queue.record(entry)
        await upstream.recorder?.record(
            RecordedExchange(
                kind: .webhook, time: Job.timestamp(configuration.time.now()),
                request: .init(method: "POST", target: nil, headers: ExchangeRecorder.headers(headers), body: Redaction.json(parsed)),
                response: .init(status: answer, headers: [:], body: nil)),
            appId: target.appId, requestId: requestId, upstream: upstream.baseURL)
        return answer
    }

    /// Sends held (`reorder`) webhooks now.
    public func flushHeldWebhooks() async {
        let ready = held
        held = []
        for webhook in ready {
            Task { await self.deliverWithRetries(hook: webhook.hook, requestId: webhook.requestId, copy: 1, headers: webhook.headers, body: webhook.body, notBefore: nil) }
        }
    }

    /// One delivery to the receiver; the attempt is noted on the job. A 2xx releases webhooks held for reordering.
    func relay(hook: String, requestId: String, copy: Int, attempt: Int, headers: [(String, String)], body: Data) async -> Int {
        guard let url = hooks[hook]?.url else { return 200 }
        let request = OutgoingRequest(
            method: "POST", url: routes.resolve(url), headers: headers, body: body, timeout: configuration.webhookTimeout, maxResponseBytes: 1024 * 1024)
        do {
            let status = try await configuration.transport.send(request).status
            let delivered = (200..<300).contains(status)
            note(requestId, copy: copy, attempt: attempt, outcome: delivered ? .delivered : .failed, status: status)
            if delivered, held.contains(where: { $0.requestId != requestId }) {
                let others = held.filter { $0.requestId != requestId }
                held.removeAll { $0.requestId != requestId }
                for webhook in others {
                    Task { await self.deliverWithRetries(hook: webhook.hook, requestId: webhook.requestId, copy: 1, headers: webhook.headers, body: webhook.body, notBefore: nil) }
                }
            }
            return status
        } catch {
            note(requestId, copy: copy, attempt: attempt, outcome: .failed, error: "\(error)")
            return 502
        }
    }

    /// A delivery the proxy owns (delayed or held): retried with MockFAL's backoff, as FAL would.
    func deliverWithRetries(hook: String, requestId: String, copy: Int, headers: [(String, String)], body: Data, notBefore: Date?) async {
        if let notBefore { try? await configuration.time.sleep(until: notBefore) }
        for attempt in 1...max(1, configuration.webhookMaxAttempts) {
            let status = await relay(hook: hook, requestId: requestId, copy: copy, attempt: attempt, headers: headers, body: body)
            if (200..<300).contains(status) { return }
            guard attempt < configuration.webhookMaxAttempts else { break }
            let backoff = configuration.webhookRetryBase * (1 << min(attempt - 1, 7))
            do { try await configuration.time.sleep(for: backoff) } catch { return }
        }
        note(requestId, copy: copy, attempt: configuration.webhookMaxAttempts, outcome: .gaveUp)
    }

    func note(_ id: String, copy: Int, attempt: Int, outcome: WebhookAttempt.Outcome, status: Int? = nil, error: String? = nil) {
        jobs[id]?.webhookAttempts.append(
            WebhookAttempt(date: configuration.time.now(), copy: copy, attempt: attempt, outcome: outcome, httpStatus: status, error: error))
    }

    /// FAL's headers as they came, less those that belong to one connection.
    private func relayable(_ headers: [(String, String)]) -> [(String, String)] {
        let connection: Set = ["host", "content-length", "connection", "transfer-encoding", "keep-alive", "expect"]
        return headers.filter { !connection.contains($0.0.lowercased()) }
    }
}

extension FALQueue {
    /// The faults of rules written for one request id (the proxy applies them to that job's webhook).
    func requestFault(_ requestId: String) -> Fault {
        faultRules.filter { $0.requestId == requestId }.reduce(Fault()) { $0.merged(with: $1.fault) }
    }
}
