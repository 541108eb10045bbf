#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import NIOCore
import SupportKit

/// The `/_mock/…` control API: journal, jobs, wait-for-call, faults, clock, keys, reset. Documented in
/// `docs/mock-fal-control.openapi.yaml`.
enum ControlRoutes {
    static func add<Context: RequestContext>(to router: Router<Context>, queue: FALQueue, backend: any QueueBackend) {
        let mock = router.group("_mock")
        mock.get("health") { _, _ in
            Response.json([
                "status": "ok", "mode": .string(queue.configuration.mode.rawValue),
                "virtual_time": .bool(queue.configuration.time.isVirtual),
                "now": .string(Job.timestamp(queue.configuration.time.now())),
            ])
        }
        mock.get("journal") { request, _ in
            let since = request.uri.queryParameters["since"].flatMap { Int($0) } ?? 0
            return Response.json(["entries": try JSONValue.from(await queue.journalEntries(since: since))])
        }
        mock.get("jobs") { _, _ in
            Response.json(["jobs": try JSONValue.from(await backend.snapshots())])
        }
        mock.get("jobs/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let job = await backend.snapshots().first(where: { $0.requestId == id }) else {
                return Response.json(["detail": .string("Request '\(id)' not found")], status: 404)
            }
            return Response.json(try JSONValue.from(job))
        }
        mock.post("wait") { request, context in
            let wait = try await decode(WaitRequest.self, request, context)
            let timeout = Duration.milliseconds(Int64((wait.timeoutSeconds ?? 10) * 1000))
            let filter = CallFilter(app: wait.app, kind: wait.kind, verdict: wait.verdict)
            let matched = await queue.waitForCalls(filter, count: wait.count ?? 1, timeout: timeout)
            let entries = await queue.journalEntries().filter(filter.matches)
            return Response.json(["matched": .bool(matched), "entries": try JSONValue.from(entries)], status: matched ? 200 : 408)
        }
        mock.post("wait-idle") { _, _ in
            await queue.waitUntilIdle()
            return Response.json(["idle": true])
        }
        mock.get("faults") { _, _ in
            Response.json(["rules": try JSONValue.from(await queue.activeFaultRules())])
        }
        mock.post("faults") { request, context in
            let rule = try await decode(FaultRule.self, request, context)
            if let status = rule.fault.submitStatus, !(status == 429 || (500...599).contains(status)) {
                throw HTTPError(.badRequest, message: "submit_status must be 429 or 5xx")
            }
            if let refusal = backend.refusal(of: rule.fault) { throw HTTPError(.badRequest, message: refusal) }
            await queue.addFault(rule)
            return Response.json(try JSONValue.from(rule), status: 201)
        }
        mock.delete("faults") { _, _ in
            await queue.clearFaults()
            return Response.json(["rules": []])
        }
        mock.post("clock/advance") { request, context in
            let advance = try await decode(AdvanceRequest.self, request, context)
            guard let duration = advance.duration else {
                throw HTTPError(.badRequest, message: "give \"seconds\": N or \"duration\": \"15m\"")
            }
            guard await queue.advanceClock(by: duration) else {
                return Response.json(["detail": "MockFAL runs on real time; start it with --virtual-time to advance"], status: 409)
            }
            await queue.waitUntilIdle()
            return Response.json(["now": .string(Job.timestamp(queue.configuration.time.now()))])
        }
        mock.post("models") { request, context in
            let model = try await decode(ModelRegistration.self, request, context)
            guard model.finetuneId != nil || model.loraURL != nil else { throw HTTPError(.badRequest, message: "name finetune_id or lora_url") }
            await queue.registerModel(finetuneId: model.finetuneId, loraURL: model.loraURL)
            return Response.json(["models": .array(await queue.knownModels().sorted().map(JSONValue.string))], status: 201)
        }
        mock.post("reset") { _, _ in
            await queue.reset()
            return Response.json(["reset": true])
        }
        mock.post("jwks/rotate") { request, _ in
            let retire = request.uri.queryParameters["retire_old"].map { $0 == "true" || $0 == "1" } ?? false
            await queue.rotateSigningKey(retireOld: retire)
            return Response.json(await queue.keyRing.jwks)
        }
        mock.post("webhooks/flush") { _, _ in
            await backend.flushHeldWebhooks()
            return Response.json(["flushed": true])
        }
        mock.get("contracts") { _, _ in
            let contracts = queue.configuration.contracts.contracts.values.sorted { $0.appId < $1.appId }
            return Response.json(["contracts": try JSONValue.from(contracts)])
        }
    }

    private static func decode<T: Decodable, Context: RequestContext>(
        _ type: T.Type, _ request: Request, _ context: Context
    ) async throws -> T {
        let body = try await request.body.collect(upTo: 1024 * 1024)
        let data = body.readableBytes == 0 ? Data("{}".utf8) : Data(body.readableBytesView)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw HTTPError(.badRequest, message: "invalid \(T.self): \(error)")
        }
    }
}

struct WaitRequest: Decodable {
    var app: String?
    var kind: CallKind?
    var verdict: Verdict?
    var count: Int?
    var timeoutSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case app, kind, verdict, count, timeoutSeconds = "timeout_seconds"
    }
}

struct AdvanceRequest: Decodable {
    var seconds: Double?
    var durationText: String?

    enum CodingKeys: String, CodingKey {
        case seconds, durationText = "duration"
    }

    var duration: Duration? {
        if let seconds, seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        return durationText.flatMap(Duration.init(parsing:))
    }
}

/// `POST /_mock/models`: a model made elsewhere that generation may use.
struct ModelRegistration: Decodable {
    var finetuneId: String?
    var loraURL: String?

    enum CodingKeys: String, CodingKey {
        case finetuneId = "finetune_id", loraURL = "lora_url"
    }
}
