import Foundation
import Hummingbird
import Logging
import HummingbirdTesting
import MockFAL
import NIOCore
import SupportKit
import Testing

@Suite("HTTP: the queue and control APIs on the wire")
struct HTTPTests {
    static let auth: HTTPFields = [.authorization: "Key test", .contentType: "application/json"]

    func json(_ response: TestResponse) throws -> JSONValue {
        try JSONValue.parse(Data(response.body.readableBytesView))
    }

    @Test("submit → status → result → cancel over HTTP, with the webhook query kept intact")
    func queueOverHTTP() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        let app = buildApplication(harness.configuration, queue: harness.queue)
        try await app.test(.router) { client in
            let hook = "http://127.0.0.1:8000/api/v1/avatar/status_update?training_type=style"
            let encoded = hook.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let submitted = try await client.execute(
                uri: "/fal-ai/flux-pro-trainer?fal_webhook=\(encoded)", method: .post, headers: Self.auth,
                body: ByteBuffer(bytes: try Harness.styleInput.jsonData()))
            #expect(submitted.status == .ok)
            let id = try json(submitted)["request_id"]?.stringValue ?? ""
            #expect(await harness.queue.journalEntries().last?.webhookURL == hook)
            await harness.advance(.seconds(10))
            let status = try await client.execute(uri: "/fal-ai/flux-pro-trainer/requests/\(id)/status?logs=1", method: .get, headers: Self.auth)
            #expect(status.status == .accepted)
            #expect(try json(status)["status"] == "IN_PROGRESS")
            let early = try await client.execute(uri: "/fal-ai/flux-pro-trainer/requests/\(id)", method: .get, headers: Self.auth)
            #expect(early.status == .badRequest)
            let cancel = try await client.execute(uri: "/fal-ai/flux-pro-trainer/requests/\(id)/cancel", method: .put, headers: Self.auth)
            #expect(cancel.status == .accepted)
            let unauthorized = try await client.execute(uri: "/fal-ai/flux-pro-trainer/requests/\(id)/status", method: .get)
            #expect(unauthorized.status == .unauthorized)
        }
    }

    @Test("steps on flux-pro-trainer → 422 naming steps, over HTTP")
    func stepsOverHTTP() async throws {
        let harness = try Harness()
        let app = buildApplication(harness.configuration, queue: harness.queue)
        try await app.test(.router) { client in
            let body: JSONValue = ["data_url": "http://127.0.0.1:9/x.zip", "finetune_comment": "a", "steps": 2000]
            let response = try await client.execute(
                uri: "/fal-ai/flux-pro-trainer", method: .post, headers: Self.auth, body: ByteBuffer(bytes: try body.jsonData()))
            #expect(response.status == .unprocessableContent)
            let detail = try json(response)["detail"]?.arrayValue?.first
            #expect(detail?["loc"] == ["body", "steps"])
        }
    }

    @Test("GET /metrics counts what happened: calls by kind, verdict and answer; jobs by status; fault rules")
    func metrics() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        let app = buildApplication(harness.configuration, queue: harness.queue)
        try await app.test(.router) { client in
            let accepted = try await client.execute(
                uri: "/fal-ai/flux-pro-trainer", method: .post, headers: Self.auth, body: ByteBuffer(bytes: try Harness.styleInput.jsonData()))
            let id = try json(accepted)["request_id"]?.stringValue ?? ""
            let refused: JSONValue = ["data_url": "http://127.0.0.1:9/x.zip", "finetune_comment": "a", "steps": 2000]
            _ = try await client.execute(uri: "/fal-ai/flux-pro-trainer", method: .post, headers: Self.auth, body: ByteBuffer(bytes: try refused.jsonData()))
            await harness.advance(.seconds(10))
            _ = try await client.execute(uri: "/fal-ai/flux-pro-trainer/requests/\(id)/status", method: .get, headers: Self.auth)
            _ = try await client.execute(uri: "/fal-ai/flux-pro-trainer/requests/\(id)/status", method: .get, headers: Self.auth)
            let scrape = try await client.execute(uri: "/metrics", method: .get)
            #expect(scrape.status == .ok)
            let lines = Set(String(buffer: scrape.body).split(separator: "\n").map(String.init))
            #expect(lines.contains(#"mockfal_calls_total{kind="submit",verdict="accepted",status="2xx"} 1"#))
            #expect(lines.contains(#"mockfal_calls_total{kind="submit",verdict="rejected",status="422"} 1"#))
            #expect(lines.contains(#"mockfal_calls_total{kind="status",verdict="none",status="2xx"} 2"#))
            #expect(lines.contains(#"mockfal_jobs{status="IN_PROGRESS"} 1.0"#))
            #expect(lines.contains("mockfal_fault_rules 0.0"))
        }
    }

    @Test("control API: health, faults, wait-for-call, journal, jobs, clock, JWKS rotation, reset")
    func control() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        let app = buildApplication(harness.configuration, queue: harness.queue)
        try await app.test(.router) { client in
            let health = try await client.execute(uri: "/_mock/health", method: .get)
            #expect(try json(health)["virtual_time"] == true)
            let fault: JSONValue = ["app": "fal-ai/flux-pro-trainer", "fault": ["fail_at_step": 20]]
            let added = try await client.execute(uri: "/_mock/faults", method: .post, body: ByteBuffer(bytes: try fault.jsonData()))
            #expect(added.status == .created)
            let badFault: JSONValue = ["fault": ["submit_status": 200]]
            #expect(try await client.execute(uri: "/_mock/faults", method: .post, body: ByteBuffer(bytes: try badFault.jsonData())).status == .badRequest)

            let waiting = Task {
                try await client.execute(
                    uri: "/_mock/wait", method: .post,
                    body: ByteBuffer(bytes: try (["app": "fal-ai/flux-pro-trainer", "kind": "submit", "timeout_seconds": 5] as JSONValue).jsonData()))
            }
            _ = try await client.execute(
                uri: "/fal-ai/flux-pro-trainer", method: .post, headers: Self.auth, body: ByteBuffer(bytes: try Harness.styleInput.jsonData()))
            let waited = try await waiting.value
            #expect(waited.status == .ok)
            #expect(try json(waited)["matched"] == true)

            let timedOut = try await client.execute(
                uri: "/_mock/wait", method: .post,
                body: ByteBuffer(bytes: try (["app": "fal-ai/flux-lora", "timeout_seconds": 0.05] as JSONValue).jsonData()))
            #expect(timedOut.status == .requestTimeout)

            let advance = try await client.execute(
                uri: "/_mock/clock/advance", method: .post, body: ByteBuffer(bytes: try (["duration": "20s"] as JSONValue).jsonData()))
            #expect(advance.status == .ok)
            let jobs = try json(try await client.execute(uri: "/_mock/jobs", method: .get))
            #expect(jobs["jobs"]?.arrayValue?.first?["status"] == "FAILED")
            let journal = try json(try await client.execute(uri: "/_mock/journal", method: .get))
            #expect(journal["entries"]?.arrayValue?.first?["verdict"] == "accepted")

            let before = try json(try await client.execute(uri: "/.well-known/jwks.json", method: .get))
            #expect(before["keys"]?.arrayValue?.count == 1)
            _ = try await client.execute(uri: "/_mock/jwks/rotate", method: .post)
            let after = try json(try await client.execute(uri: "/.well-known/jwks.json", method: .get))
            #expect(after["keys"]?.arrayValue?.count == 2)

            _ = try await client.execute(uri: "/_mock/reset", method: .post)
            let empty = try json(try await client.execute(uri: "/_mock/jobs", method: .get))
            #expect(empty["jobs"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("live: a real archive server and a real webhook receiver over loopback")
    func live() async throws {
        let zip = try photoZip(count: 12)
        let received = ReceivedWebhooks()
        let peer = Router()
        peer.get("photos.zip") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: zip))) }
        peer.post("hook") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            await received.add(Data(body.readableBytesView))
            return Response(status: .ok)
        }
        try await Application(router: peer, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { peerClient in
            let peerPort = try #require(peerClient.port)
            var configuration = MockFALConfiguration(contracts: try .bundled(), time: .virtual())
            configuration.stepDuration = .seconds(1)
            let queue = FALQueue(configuration: configuration, logger: .warningsOnly)
            try await buildApplication(configuration, queue: queue).test(.live) { client in
                var input = Harness.styleInput.objectValue!
                input["data_url"] = .string("http://127.0.0.1:\(peerPort)/photos.zip")
                let hook = "http://127.0.0.1:\(peerPort)/hook".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let submitted = try await client.execute(
                    uri: "/fal-ai/flux-pro-trainer?fal_webhook=\(hook)", method: .post, headers: Self.auth,
                    body: ByteBuffer(bytes: try JSONValue.object(input).jsonData()))
                #expect(submitted.status == .ok)
                await queue.waitUntilIdle()
                #expect(await queue.snapshots().first?.imageCount == 12)
                _ = await queue.advanceClock(by: .seconds(500))
                #expect(await eventually { await received.count == 1 })
                let body = try JSONValue.parse(try #require(await received.bodies.first))
                #expect(body["status"] == "OK")
            }
        }
    }
}

actor ReceivedWebhooks {
    private(set) var bodies: [Data] = []
    func add(_ body: Data) { bodies.append(body) }
    var count: Int { bodies.count }
}
