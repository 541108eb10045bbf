import Foundation
@testable import MockFAL
@testable import ScenarioRunner
import SupportKit
import Testing

/// `mock-fal --upstream`: MockFAL in front of a FAL (here a stand-in on real time with millisecond steps).
@Suite("MockFAL as a recording, fault-injecting proxy in front of FAL")
struct ProxyTests {
    @Test("a submit is forwarded with the upstream key, journaled with its verdict; FAL's signed webhook is relayed byte-identical")
    func forwardsAndRelays() async throws {
        let rig = try await StagingRig()
        let submitted = try await rig.submitStyle()
        #expect(submitted.status == 200)
        let id = submitted.json["request_id"]?.stringValue ?? ""
        #expect(submitted.json["status_url"]?.stringValue?.hasPrefix(rig.proxyURL) == true, "FAL's own URLs point at the proxy")
        let upstreamSubmit = await rig.standIn.journalEntries().first { $0.kind == .submit }
        #expect(upstreamSubmit?.requestId == id)
        #expect(upstreamSubmit?.webhookURL?.hasPrefix(rig.proxyURL + "/_proxy/webhooks/") == true, "FAL calls the proxy back")
        let journaled = await rig.queue.journalEntries().first { $0.kind == .submit }
        #expect(journaled?.verdict == .accepted)
        #expect(journaled?.webhookURL == rig.hookURL, "the journal keeps the client's own webhook URL")
        #expect(await eventually { rig.received.withLock { $0.count } == 1 })
        let standInBody = try #require(await rig.standIn.snapshots().first?.output)
        let delivery = try #require(rig.received.withLock { $0.first })
        #expect(try JSONValue.parse(delivery.body)["payload"] == standInBody)
        for name in ["x-fal-webhook-request-id", "x-fal-webhook-user-id", "x-fal-webhook-timestamp", "x-fal-webhook-signature"] {
            #expect(delivery.headers.contains { $0.0 == name }, "\(name) relayed")
        }
        let signature = delivery.headers.first { $0.0 == "x-fal-webhook-signature" }?.1 ?? ""
        let keys = await rig.standIn.keyRing.jwks["keys"]?.arrayValue ?? []
        #expect(!signature.isEmpty && keys.count == 1)
        #expect(await eventually { await rig.queue.journalEntries().contains { $0.kind == .webhook } }, "journaled once relayed")
        let webhook = await rig.queue.journalEntries().first { $0.kind == .webhook }
        #expect(webhook?.verdict == .accepted, "FAL's signature checked against its JWKS")
        #expect(webhook?.httpStatus == 200)
        let job = try #require(await rig.proxy.snapshots().first)
        #expect(job.status == "COMPLETED" && job.imageCount == 12 && job.webhookAttempts.map(\.outcome) == [.delivered])
        let status = try await rig.call("GET", "/fal-ai/flux-pro-trainer/requests/\(id)/status")
        #expect(status.status == 200 && status.json["status"] == "COMPLETED")
        #expect(status.json["cancel_url"]?.stringValue?.hasPrefix(rig.proxyURL) == true, "status answers point at the proxy too")
        #expect(await rig.standIn.journalEntries().filter { $0.kind == .status }.count >= 1)
        await rig.stop()
    }

    @Test("a contract-breaking submit is refused here and never reaches FAL; submit faults are answered here too")
    func refusesLocally() async throws {
        let rig = try await StagingRig()
        let broken = try await rig.submitStyle(["steps": 2000])
        #expect(broken.status == 422)
        #expect(broken.json["detail"]?.arrayValue?.first?["loc"] == ["body", "steps"])
        await rig.queue.addFault(FaultRule(times: 1, fault: Fault(submitStatus: 503, retryAfterSeconds: 7)))
        let unavailable = try await rig.submitStyle()
        #expect(unavailable.status == 503 && unavailable.header("Retry-After") == "7")
        #expect(await rig.standIn.journalEntries().isEmpty, "nothing reached (or cost money at) FAL")
        #expect(await rig.queue.journalEntries().map(\.verdict) == [.rejected, nil])
        await rig.stop()
    }

    @Test("--max-paid-jobs refuses the submit after the cap before it leaves; a job FAL refused costs nothing")
    func paidJobCap() async throws {
        let rig = try await StagingRig { $0.budget = PaidJobBudget(limit: 1) }
        #expect(try await rig.call("POST", "/fal-ai/flux-pro-trainer", body: ["data_url": "x"]).status == 422)  // refused here: no job
        #expect(try await rig.submitStyle().status == 200)
        let capped = try await rig.submitStyle()
        #expect(capped.status == 403)
        #expect(capped.json["detail"]?.stringValue?.contains("--max-paid-jobs") == true)
        #expect(await rig.standIn.journalEntries().filter { $0.kind == .submit }.count == 1)
        #expect(await rig.queue.journalEntries().last?.verdict == .capped)
        await rig.stop()
    }

    @Test("faults only FAL can produce are refused by the control API in proxy mode")
    func refusesSimulationFaults() async throws {
        #expect(FALProxy.refusal(of: Fault(failAtStep: 20))?.contains("only FAL can fail a job at a step") == true)
        #expect(FALProxy.refusal(of: Fault(queueSeconds: 5)) != nil)
        #expect(FALProxy.refusal(of: Fault(webhook: .drop)) == nil)
        let rig = try await StagingRig()
        let response = try await rig.call("POST", "/_mock/faults", body: ["fault": ["fail_at_step": 20]])
        #expect(response.status == 400)
        #expect(await rig.queue.activeFaultRules().isEmpty)
        await rig.stop()
    }

    @Test("webhook faults at the proxy: duplicate ×3 relays three copies, drop relays none")
    func webhookFaults() async throws {
        let rig = try await StagingRig()
        await rig.queue.addFault(FaultRule(times: 1, fault: Fault(webhook: .duplicate, webhookCopies: 3)))
        _ = try await rig.submitStyle()
        #expect(await eventually { rig.received.withLock { $0.count } == 3 })
        let bodies = Set(rig.received.withLock { $0.map(\.body) })
        #expect(bodies.count == 1, "each copy byte-identical")
        await rig.queue.addFault(FaultRule(times: 1, fault: Fault(webhook: .drop)))
        _ = try await rig.submitStyle()
        #expect(await eventually { await rig.proxy.snapshots().last?.webhookAttempts.map(\.outcome) == [.dropped] })
        #expect(rig.received.withLock { $0.count } == 3)
        await rig.stop()
    }

    @Test("an archive fault hands FAL a dead URL, and FAL's own download error comes back")
    func archiveFault() async throws {
        let rig = try await StagingRig()
        await rig.queue.addFault(FaultRule(times: 1, fault: Fault(archiveFetchFailure: "gone")))
        let id = try await rig.submitStyle().json["request_id"]?.stringValue ?? ""
        #expect(await eventually { await rig.standIn.snapshots().first?.status == "FAILED" })
        #expect(await rig.standIn.snapshots().first?.errorType == "file_download_error")
        #expect(await rig.standIn.snapshots().first?.input["data_url"]?.stringValue?.contains("/_proxy/dead-archive/") == true)
        #expect(await eventually { await rig.proxy.snapshots().first?.status == "FAILED" })
        let result = try await rig.call("GET", "/fal-ai/flux-pro-trainer/requests/\(id)")
        #expect(result.status == 422, "the failed job's own status and detail, relayed")
        await rig.stop()
    }

    @Test("a webhook whose signature FAL's keys do not confirm is journaled as rejected (and still relayed for the receiver to refuse)")
    func badSignature() async throws {
        let rig = try await StagingRig()
        _ = try await rig.submitStyle(webhook: true)
        #expect(await eventually { rig.received.withLock { $0.count } == 1 })
        let hook = try #require(await rig.standIn.journalEntries().first?.webhookURL)
        let delivery = try #require(rig.received.withLock { $0.first })
        var tampered = delivery.body
        tampered.append(contentsOf: Array(" ".utf8))
        let answer = try await AsyncHTTPClientTransport().send(
            OutgoingRequest(method: "POST", url: hook, headers: delivery.headers.filter { $0.0.hasPrefix("x-fal-") }, body: tampered))
        #expect(answer.status == 200)
        #expect(await eventually { await rig.queue.journalEntries().filter { $0.kind == .webhook }.count == 2 })
        let entry = await rig.queue.journalEntries().last { $0.kind == .webhook }
        #expect(entry?.verdict == .rejected)
        #expect(entry?.problems?.first?.msg.contains("matches no key") == true)
        await rig.stop()
    }

    @Test("jobs still running at FAL are cancelled on the way out, and the answer of each cancel is reported")
    func cancelsInFlight() async throws {
        let rig = try await StagingRig(stepDuration: .seconds(1))
        let id = try await rig.submitStyle().json["request_id"]?.stringValue ?? ""
        let cancels = await rig.proxy.cancelInFlight()
        #expect(cancels.map(\.requestId) == [id])
        #expect(cancels.first?.httpStatus == 202)
        #expect(await rig.standIn.snapshots().first?.status == "CANCELLED")
        #expect(await rig.proxy.cancelInFlight().isEmpty, "nothing left to cancel")
        await rig.stop()
    }

    @Test("--record writes one readable file per job, with the key and URL signatures redacted")
    func records() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recordings-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let recorder = try ExchangeRecorder(folder: folder, source: "MockFAL stand-in")
        let rig = try await StagingRig { $0.recorder = recorder }
        let archive = rig.archiveURL + "?expires=99&signature=secret-signature"
        let id = try await rig.submitStyle(["data_url": .string(archive)]).json["request_id"]?.stringValue ?? ""
        #expect(await eventually { rig.received.withLock { $0.count } == 1 })
        _ = try await rig.call("GET", "/fal-ai/flux-pro-trainer/requests/\(id)/status?logs=1")
        _ = try await rig.call("GET", "/fal-ai/flux-pro-trainer/requests/\(id)")
        let recordings = try Recording.load(folder: folder)
        #expect(recordings.map(\.file) == ["fal-ai__flux-pro-trainer--\(id).json"])
        let recording = try #require(recordings.first?.recording)
        #expect(recording.exchanges.map(\.kind) == [.submit, .webhook, .status, .result])
        #expect(recording.exchanges[0].request.headers["authorization"] == Redaction.placeholder)
        let text = try String(contentsOfFile: folder + "/" + recordings[0].file, encoding: .utf8)
        #expect(!text.contains("standin-key") && !text.contains("secret-signature"))
        #expect(text.contains("expires=99"), "only secrets are redacted")
        await rig.stop()
    }
}
