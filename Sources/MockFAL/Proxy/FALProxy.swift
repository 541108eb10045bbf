#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import SupportKit

/// MockFAL in front of the real FAL (`mock-fal --upstream URL`): forwards every queue call with the upstream key and
/// journals it with its contract verdict, refuses contract-breaking submits locally, answers submit faults itself,
/// rewrites `fal_webhook` to itself, checks FAL's signature on each webhook and relays it byte-identical after applying
/// webhook faults, and can record every exchange. Faults only FAL can produce (`fail_at_step`, `queue_seconds`) are
/// refused.
public actor FALProxy: QueueBackend {
    /// Journal, fault rules, contracts and validation mode: shared with the simulation.
    public let queue: FALQueue
    public let upstream: UpstreamConfiguration
    let keys: UpstreamKeys
    let logger: Logger
    var jobs: [String: ProxiedJob] = [:]
    var order: [String] = []
    /// Webhook routes handed to the upstream: hook → the receiver's URL and the job's faults.
    var hooks: [String: HookTarget] = [:]
    var routes = LocalRoutes()
    /// Deliveries held back by a `reorder` fault.
    var held: [HeldWebhook] = []

    public init(queue: FALQueue, upstream: UpstreamConfiguration, logger: Logger = Logger(label: "mock-fal-proxy")) {
        self.queue = queue
        self.upstream = upstream
        self.logger = logger
        keys = UpstreamKeys(url: upstream.jwksURL, transport: queue.configuration.transport, time: queue.configuration.time)
    }

    var configuration: MockFALConfiguration { queue.configuration }

    /// URLs under `publicPrefix` are served by `localBase` on this machine (the staging gateway's route to a system).
    public func route(publicPrefix: String, to localBase: String) {
        routes.add(prefix: publicPrefix, base: localBase)
    }

    /// Why a fault rule cannot apply in front of the real FAL, or nil.
    public nonisolated func refusal(of fault: Fault) -> String? { Self.refusal(of: fault) }

    /// Why a fault rule cannot apply in front of the real FAL, or nil.
    public static func refusal(of fault: Fault) -> String? {
        if fault.failAtStep != nil { return "fail_at_step needs MockFAL's own training: only FAL can fail a job at a step" }
        if fault.queueSeconds != nil { return "queue_seconds needs MockFAL's own queue: only FAL decides how long a job waits" }
        if fault.nsfwImages != nil { return "nsfw_images needs MockFAL's own generation: only FAL's safety checker flags images" }
        return nil
    }

    // MARK: Queue API

    public func submit(
        path: String, body: Data, webhookURL: String?, baseURL: String, authorization: String?, headers: [(String, String)]
    ) async -> QueueReply {
        let appPath = path.trimming { $0 == "/" }
        var entry = await queue.newEntry(method: "POST", path: "/" + appPath, kind: .submit)
        entry.webhookURL = webhookURL
        let reply = await submit(appPath: appPath, body: body, webhookURL: webhookURL, baseURL: baseURL, authorization: authorization, headers: headers, entry: &entry)
        entry.httpStatus = reply.status
        await queue.record(entry)
        return reply
    }

    private func submit(
        appPath: String, body: Data, webhookURL: String?, baseURL: String, authorization: String?, headers: [(String, String)],
        entry: inout JournalEntry
    ) async -> QueueReply {
        if let denied = await queue.checkAuthorization(authorization) { return denied }
        let contract = configuration.contracts.contract(forPath: appPath)
        let appId = contract?.appId ?? appPath
        entry.appId = appId
        let fault = await queue.drawFault(appId: appId)
        if let status = fault.submitStatus {
            return QueueReply(
                status: status, body: ["detail": .string(status == 429 ? "Too many requests" : "Internal server error")],
                headers: fault.retryAfterSeconds.map { [("Retry-After", String($0))] } ?? [])
        }
        guard var input = try? JSONValue.parse(body) else {
            return QueueReply(status: 422, body: ["detail": [["loc": ["body"], "msg": "Invalid JSON body", "type": "value_error.jsondecode"]]])
        }
        entry.input = input
        var effective = input
        if let contract {
            let (problems, filled) = InputValidator.validate(input, against: contract)
            effective = filled
            entry.problems = problems.isEmpty ? nil : problems
            entry.verdict = problems.isEmpty ? .accepted : (upstream.refuseInvalid ? .rejected : .recorded)
            if !problems.isEmpty, upstream.refuseInvalid {
                logger.info("submit refused before the upstream", metadata: ["app": "\(appId)", "problems": "\(problems.map(\.field))"])
                return QueueReply(status: 422, body: ["detail": .array(problems.map { (try? JSONValue.from($0)) ?? .null })])
            }
        } else {
            entry.verdict = .unchecked
        }
        let hook = UUID().uuidString.lowercased()
        var sent = body
        if fault.archiveFetchFailure != nil, let field = contract?.archive?.field, case .object(var fields) = input {
            // FAL gets a URL that answers 404, so its own download error comes back.
            fields[field] = .string("\(upstream.publicURL)/_proxy/dead-archive/\(hook).zip")
            input = .object(fields)
            sent = (try? input.jsonData()) ?? body
        }
        hooks[hook] = HookTarget(url: webhookURL, appId: appId, fault: fault)
        var target = "/\(appPath)"
        if webhookURL != nil { target += "?fal_webhook=" + Self.percentEncoded("\(upstream.publicURL)/_proxy/webhooks/\(hook)") }
        let forwarded = OutgoingRequest(
            method: "POST", url: upstream.baseURL + target,
            headers: [("Authorization", "Key \(upstream.key)"), ("Content-Type", "application/json"), ("Accept", "application/json")] + headers,
            body: sent, timeout: upstream.timeout)
        let attempt = await upstream.budget.spending { @Sendable [self] () async -> (QueueReply, paid: Bool) in
            let reply = await self.forward(forwarded, kind: .submit, appId: appId, requestId: nil, baseURL: baseURL)
            return (reply, reply.status == 200 && reply.body["request_id"]?.stringValue != nil)
        }
        guard let reply = attempt else {
            entry.verdict = .capped
            hooks[hook] = nil
            let limit = upstream.budget.limit ?? 0
            return .detail(403, "mock-fal proxy: the cap of \(limit) paid job(s) (--max-paid-jobs) is reached; this submit was not sent to FAL")
        }
        guard reply.status == 200, let id = reply.body["request_id"]?.stringValue else {
            hooks[hook] = nil
            return reply
        }
        entry.requestId = id
        let steps = contract?.progress.stepsField.flatMap { effective[$0]?.intValue } ?? contract?.progress.fixedSteps ?? 1
        jobs[id] = ProxiedJob(
            id: id, appId: appId, input: entry.input ?? input, effectiveInput: effective, webhookURL: webhookURL, hook: hook, clientBase: baseURL,
            totalSteps: max(1, steps), fault: fault)
        order.append(id)
        logger.info("submit forwarded", metadata: ["app": "\(appId)", "request_id": "\(id)"])
        if fault.archiveFetchFailure == nil, let rule = contract?.archive, let url = effective[rule.field]?.stringValue {
            Task { await self.inspectArchive(id, url: url, rule: rule) }
        }
        return reply
    }

    public func status(prefix: String, requestId: String, logs: Bool, authorization: String?) async -> QueueReply {
        await relay(.status, "GET", prefix, requestId, "/status", query: "?logs=\(logs ? 1 : 0)", authorization: authorization)
    }

    public func result(prefix: String, requestId: String, authorization: String?) async -> QueueReply {
        await relay(.result, "GET", prefix, requestId, "", query: "", authorization: authorization)
    }

    public func cancel(prefix: String, requestId: String, authorization: String?) async -> QueueReply {
        await relay(.cancel, "PUT", prefix, requestId, "/cancel", query: "", authorization: authorization)
    }

    /// Every job the proxy created, oldest first; unfinished ones are asked about at the upstream first (such asks
    /// are recorded, not journaled: the journal shows what the client called).
    public func snapshots() async -> [JobSnapshot] {
        for id in order where jobs[id]?.isFinished == false {
            _ = await forward(statusRequest(id), kind: .status, appId: jobs[id]?.appId ?? "", requestId: id, baseURL: upstream.baseURL)
        }
        return order.compactMap { jobs[$0]?.snapshot }
    }

    /// Cancels every job still running at the upstream (end of a scenario, an abort): what each cancel answered.
    public func cancelInFlight() async -> [InFlightCancel] {
        var outcomes: [InFlightCancel] = []
        for id in order where jobs[id]?.isFinished == false {
            guard let job = jobs[id] else { continue }
            let request = OutgoingRequest(
                method: "PUT", url: "\(upstream.baseURL)/\(Self.urlPrefix(job.appId))/requests/\(id)/cancel",
                headers: [("Authorization", "Key \(upstream.key)")], timeout: upstream.timeout)
            let reply = await forward(request, kind: .cancel, appId: job.appId, requestId: id, baseURL: upstream.baseURL)
            if reply.status == 202 { jobs[id]?.cancelled = true }
            outcomes.append(InFlightCancel(requestId: id, appId: job.appId, httpStatus: reply.status, detail: reply.body["detail"]?.stringValue ?? reply.body["status"]?.stringValue))
        }
        return outcomes
    }

    // MARK: Forwarding

    private func relay(
        _ kind: CallKind, _ method: String, _ prefix: String, _ requestId: String, _ suffix: String, query: String,
        authorization: String?
    ) async -> QueueReply {
        let prefix = prefix.trimming { $0 == "/" }
        var entry = await queue.newEntry(method: method, path: "/\(prefix)/requests/\(requestId)\(suffix)", kind: kind)
        entry.requestId = requestId
        entry.appId = jobs[requestId]?.appId
        var reply: QueueReply
        if let denied = await queue.checkAuthorization(authorization) {
            reply = denied
        } else {
            let request = OutgoingRequest(
                method: method, url: "\(upstream.baseURL)/\(prefix)/requests/\(requestId)\(suffix)\(query)",
                headers: [("Authorization", "Key \(upstream.key)"), ("Accept", "application/json")], timeout: upstream.timeout)
            reply = await forward(request, kind: kind, appId: entry.appId ?? prefix, requestId: requestId, baseURL: jobs[requestId]?.clientBase ?? "")
            if let seconds = jobs[requestId]?.fault.responseDelaySeconds { reply.delay = .milliseconds(Int64(seconds * 1000)) }
        }
        entry.httpStatus = reply.status
        await queue.record(entry)
        return reply
    }

    private func statusRequest(_ id: String) -> OutgoingRequest {
        OutgoingRequest(
            url: "\(upstream.baseURL)/\(Self.urlPrefix(jobs[id]?.appId ?? ""))/requests/\(id)/status?logs=0",
            headers: [("Authorization", "Key \(upstream.key)")], timeout: upstream.timeout)
    }

    /// Sends one call upstream, learns from the answer, records the exchange and answers the client with the
    /// upstream's bytes (its own URLs pointed at `baseURL` when given).
    func forward(_ request: OutgoingRequest, kind: CallKind, appId: String, requestId: String?, baseURL: String) async -> QueueReply {
        let response: IncomingResponse
        do {
            response = try await configuration.transport.send(request)
        } catch {
            logger.warning("upstream unreachable", metadata: ["url": "\(request.url)", "error": "\(error)"])
            return .detail(502, "mock-fal proxy: the upstream did not answer: \(error)")
        }
        var raw = response.body
        if !baseURL.isEmpty, baseURL != upstream.baseURL {
            raw = Data(String(decoding: raw, as: UTF8.self).replacing(upstream.baseURL, with: baseURL).utf8)
        }
        let contentType = response.header("Content-Type") ?? "application/json"
        let reply = QueueReply(status: response.status, raw: raw, headers: [("Content-Type", contentType)] + response.headers.filter { $0.0.lowercased() == "retry-after" })
        let id = requestId ?? reply.body["request_id"]?.stringValue
        if let id {
            switch kind {
            case .status: jobs[id]?.learn(status: reply.body)
            case .result where (200..<300).contains(response.status): jobs[id]?.output = reply.body
            case .cancel where response.status == 202: jobs[id]?.cancelled = true
            case .submit, .result, .cancel, .webhook: break
            }
            await upstream.recorder?.record(
                RecordedExchange(
                    kind: kind, time: Job.timestamp(configuration.time.now()),
                    request: .init(
                        method: request.method, target: Redaction.url(request.url).replacing(upstream.baseURL, with: ""),
                        headers: ExchangeRecorder.headers(request.headers), body: request.body.flatMap { try? JSONValue.parse($0) }.map(Redaction.json)),
                    response: .init(status: response.status, headers: ExchangeRecorder.headers(response.headers), body: (try? JSONValue.parse(response.body)).map(Redaction.json))),
                appId: appId, requestId: id, upstream: upstream.baseURL)
        }
        return reply
    }

    private func inspectArchive(_ id: String, url: String, rule: ArchiveRule) async {
        if case .success(let summary) = await queue.inspector.inspect(url: routes.resolve(url), rule: rule) {
            jobs[id]?.imageCount = summary.imageCount
            jobs[id]?.archiveBytes = summary.bytes
        }
    }

    static func urlPrefix(_ appId: String) -> String { appId.split(separator: "/").prefix(2).joined(separator: "/") }

    /// Percent-encodes everything but RFC 3986's unreserved characters (a URL as a query value).
    static func percentEncoded(_ text: String) -> String {
        var result = ""
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return result
    }
}

/// What a cancel of a job left running at the upstream answered (202: cancelled; 400: it had already finished).
public struct InFlightCancel: Sendable, Hashable {
    public var requestId: String
    public var appId: String
    public var httpStatus: Int
    public var detail: String?
}
