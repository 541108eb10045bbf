#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import SupportKit

/// The state of a MockFAL server: jobs, journal, faults, keys. The HTTP routes are a thin layer over it, and
/// the scenario runner talks to it directly when it runs MockFAL in-process.
public actor FALQueue {
    public let configuration: MockFALConfiguration
    let logger: Logger
    let inspector: ArchiveInspector
    var jobs: [String: Job] = [:]
    var jobOrder: [String] = []
    var journal: [JournalEntry] = []
    /// The sequence number of the latest journal entry (entries may have been trimmed).
    var journalSeq = 0
    var faultRules: [FaultRule] = []
    var random: SeededRandom
    public internal(set) var keyRing: WebhookKeyRing
    var tasks: [UUID: Task<Void, Never>] = [:]
    /// Work that progresses without the clock moving (archive downloads, webhook sends).
    var busy = 0
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    var journalWaiters: [UUID: JournalWaiter] = [:]
    var heldWebhooks: [PendingWebhook] = []
    /// Finetune ids and LoRA URLs registered through the control API (`FALQueue+Models`).
    var registeredModels: Set<String> = []

    public init(configuration: MockFALConfiguration, logger: Logger = Logger(label: "mock-fal")) {
        self.configuration = configuration
        self.logger = logger
        self.inspector = ArchiveInspector(transport: configuration.transport, policy: configuration.archivePolicy)
        self.random = SeededRandom(seed: configuration.seed)
        self.keyRing = WebhookKeyRing(seed: configuration.seed)
    }

    var now: Date { configuration.time.now() }

    // MARK: Queue API

    /// `POST /{app_id}[/{path}]?fal_webhook=…`
    public func submit(path: String, body: Data, webhookURL: String?, baseURL: String, authorization: String?) -> QueueReply {
        let appPath = path.trimming { $0 == "/" }
        var entry = newEntry(method: "POST", path: "/" + appPath, kind: .submit)
        entry.webhookURL = webhookURL
        func answer(_ reply: QueueReply) -> QueueReply {
            entry.httpStatus = reply.status
            record(entry)
            return reply
        }
        if let denied = checkAuthorization(authorization) { return answer(denied) }
        guard let contract = configuration.contracts.contract(forPath: appPath) else {
            return answer(.detail(404, "Application '\(appPath)' not found"))
        }
        entry.appId = contract.appId
        if contract.deprecated == true, configuration.refuseDeprecatedApps {
            return answer(.detail(410, contract.deprecationMessage ?? "This endpoint is deprecated."))
        }
        let fault = drawFault(appId: contract.appId)
        if let status = fault.submitStatus {
            let retryAfter = fault.retryAfterSeconds.map { [("Retry-After", String($0))] } ?? []
            let message = status == 429 ? "Too many requests" : "Internal server error"
            return answer(QueueReply(status: status, body: ["detail": .string(message)], headers: retryAfter))
        }
        guard let input = try? JSONValue.parse(body) else {
            let problem = ValidationProblem(loc: ["body"], msg: "Invalid JSON body", type: "value_error.jsondecode")
            return answer(QueueReply(status: 422, body: ["detail": .array([(try? JSONValue.from(problem)) ?? .null])]))
        }
        entry.input = input
        if let webhookURL, !Self.isHTTPURL(webhookURL) {
            let problem = ValidationProblem(
                loc: ["query", "fal_webhook"], msg: "invalid or missing URL scheme", type: "value_error.url.scheme",
                input: .string(webhookURL))
            return answer(QueueReply(status: 422, body: ["detail": .array([(try? JSONValue.from(problem)) ?? .null])]))
        }
        var (problems, effective) = InputValidator.validate(input, against: contract)
        let unknownModels = problems.isEmpty ? modelProblems(effective) : []
        problems += unknownModels
        entry.problems = problems.isEmpty ? nil : problems
        if !problems.isEmpty, configuration.mode == .strict || !unknownModels.isEmpty {
            entry.verdict = .rejected
            logger.info("submit rejected", metadata: ["app": "\(contract.appId)", "problems": "\(problems.map(\.field))"])
            let detail = problems.map { (try? JSONValue.from($0)) ?? .null }
            return answer(QueueReply(status: 422, body: ["detail": .array(detail)]))
        }
        entry.verdict = problems.isEmpty ? .accepted : .recorded
        let id = UUID().uuidString.lowercased()
        entry.requestId = id
        let steps = configuration.simulatedSteps
            ?? contract.progress.stepsField.flatMap { effective[$0]?.intValue }
            ?? contract.progress.fixedSteps ?? 1
        let job = Job(
            id: id, appId: contract.appId, contract: contract, input: input, effectiveInput: effective,
            webhookURL: webhookURL, baseURL: configuration.publicBaseURL ?? baseURL, submittedAt: now, fault: fault,
            totalSteps: max(1, steps))
        jobs[id] = job
        jobOrder.append(id)
        logger.info("submit accepted", metadata: ["app": "\(contract.appId)", "request_id": "\(id)"])
        busy += 1
        spawn { await $0.run(id) }
        return answer(
            QueueReply(
                status: 200,
                body: [
                    "request_id": .string(id), "response_url": .string(job.url("")),
                    "status_url": .string(job.url("/status")), "cancel_url": .string(job.url("/cancel")),
                    "status": "IN_QUEUE", "queue_position": 0,
                ]))
    }

    /// `GET …/requests/{id}/status[?logs=1]`
    public func status(prefix: String, requestId: String, logs: Bool, authorization: String?) -> QueueReply {
        lookup(.status, "GET", prefix, requestId, "/status", authorization) { job in
            var body: [String: JSONValue] = [
                "request_id": .string(job.id), "response_url": .string(job.url("")),
                "status_url": .string(job.url("/status")), "cancel_url": .string(job.url("/cancel")),
            ]
            let jobLogs: JSONValue =
                logs
                ? .array(job.logs(at: now, stepDuration: configuration.stepDuration).map { (try? JSONValue.from($0)) ?? .null })
                : .null
            switch job.phase {
            case .queued:
                body["status"] = "IN_QUEUE"
                body["queue_position"] = .int(queuePosition(of: job.id))
                return QueueReply(status: 202, body: .object(body))
            case .running:
                body["status"] = "IN_PROGRESS"
                body["logs"] = jobLogs
                return QueueReply(status: 202, body: .object(body))
            case .succeeded, .failed, .cancelled:
                body["status"] = "COMPLETED"
                body["logs"] = jobLogs
                let elapsed = (job.finishedAt ?? now).timeIntervalSince(job.startedAt ?? job.submittedAt)
                body["metrics"] = ["inference_time": .double(elapsed)]
                if case .failed(let failure) = job.phase {
                    body["error"] = .string(failure.message)
                    body["error_type"] = .string(failure.errorType)
                } else if case .cancelled = job.phase {
                    body["error"] = "Request was cancelled"
                    body["error_type"] = "request_cancelled"
                }
                return QueueReply(status: 200, body: .object(body))
            }
        }
    }

    /// `GET …/requests/{id}`
    public func result(prefix: String, requestId: String, authorization: String?) -> QueueReply {
        lookup(.result, "GET", prefix, requestId, "", authorization) { job in
            switch job.phase {
            case .succeeded(let output): QueueReply(status: 200, body: output)
            case .failed(let failure): QueueReply(status: failure.httpStatus, body: failure.body)
            case .cancelled: .detail(400, "Request was cancelled")
            case .queued, .running: .detail(400, "Request is still in progress")
            }
        }
    }

    /// `PUT …/requests/{id}/cancel`
    public func cancel(prefix: String, requestId: String, authorization: String?) -> QueueReply {
        lookup(.cancel, "PUT", prefix, requestId, "/cancel", authorization) { job in
            guard !job.phase.isFinished else { return QueueReply(status: 400, body: ["status": "ALREADY_COMPLETED"]) }
            jobs[job.id]?.phase = .cancelled
            jobs[job.id]?.finishedAt = now
            logger.info("request cancelled", metadata: ["request_id": "\(job.id)"])
            return QueueReply(status: 202, body: ["status": "CANCELLATION_REQUESTED"])
        }
    }

    /// Bytes of a result file (`/files/{request_id}/{name}`).
    public func file(requestId: String, name: String) -> (Data, String)? {
        guard let job = jobs[requestId], case .succeeded = job.phase else { return nil }
        return ResultFactory.fileContents(job: job, name: name)
    }

    // MARK: Helpers

    private func lookup(
        _ kind: CallKind, _ method: String, _ prefix: String, _ requestId: String, _ suffix: String,
        _ authorization: String?, _ body: (Job) -> QueueReply
    ) -> QueueReply {
        let prefix = prefix.trimming { $0 == "/" }
        var entry = newEntry(method: method, path: "/\(prefix)/requests/\(requestId)\(suffix)", kind: kind)
        entry.requestId = requestId
        var reply: QueueReply
        if let denied = checkAuthorization(authorization) {
            reply = denied
        } else if let job = jobs[requestId], job.urlPrefix == prefix.split(separator: "/").prefix(2).joined(separator: "/") {
            entry.appId = job.appId
            reply = body(job)
            if let seconds = job.fault.responseDelaySeconds { reply.delay = .milliseconds(Int64(seconds * 1000)) }
        } else {
            reply = .detail(404, "Request '\(requestId)' not found")
        }
        entry.httpStatus = reply.status
        record(entry)
        return reply
    }

    func checkAuthorization(_ header: String?) -> QueueReply? {
        guard let header, header.hasPrefix("Key "), header.count > 4 else {
            return .detail(401, "No credentials provided: send 'Authorization: Key <FAL_KEY>'")
        }
        if let expected = configuration.apiKey, header.dropFirst(4) != expected {
            return .detail(401, "Invalid credentials")
        }
        return nil
    }

    private func queuePosition(of id: String) -> Int {
        jobOrder.prefix { $0 != id }.filter { jobs[$0]?.phase == .queued }.count
    }

    /// Collects the faults of every rule that matches a new submission, using up counted rules.
    func drawFault(appId: String) -> Fault {
        var fault = Fault()
        for index in faultRules.indices where faultRules[index].matches(appId: appId) {
            if let times = faultRules[index].times, times <= 0 { continue }
            if let probability = faultRules[index].probability, Double.random(in: 0..<1, using: &random) >= probability {
                continue
            }
            fault = fault.merged(with: faultRules[index].fault)
            if let times = faultRules[index].times { faultRules[index].times = times - 1 }
        }
        return fault
    }

    func spawn(_ work: @escaping @Sendable (FALQueue) async -> Void) {
        let key = UUID()
        tasks[key] = configuration.time.task { [weak self] in
            guard let self else { return }
            await work(self)
            await self.taskFinished(key)
        }
    }

    private func taskFinished(_ key: UUID) { tasks[key] = nil }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased() else { return false }
        return (scheme == "http" || scheme == "https") && !(url.host ?? "").isEmpty
    }
}
