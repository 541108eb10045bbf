import Crypto
import Foundation
import MockFAL
import SupportKit
import Testing

@Suite("Jobs: archive download, progress on the clock, results, webhooks")
struct JobTests {
    static let style = "fal-ai/flux-pro-trainer"
    static let portrait = "fal-ai/flux-lora-portrait-trainer"

    @Test("style job downloads its archive, progresses step by step and completes with a finetune_id")
    func styleLifecycle() async throws {
        let harness = try Harness()
        try await harness.serveArchive(photos: 12)
        let id = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.queue.waitUntilIdle()
        #expect(await harness.transport.downloads.map(\.url) == [Harness.archiveURL])

        await harness.advance(.seconds(20))
        let running = await harness.status(Self.style, id)
        #expect(running.status == 202)
        #expect(running.body["status"] == "IN_PROGRESS")
        let messages = running.body["logs"]?.arrayValue?.compactMap { $0["message"]?.stringValue } ?? []
        #expect(messages.first == "Found 12 images in the training archive")
        #expect(await harness.queue.snapshots().first?.step == 20)
        #expect(await harness.transport.webhooks.isEmpty)

        await harness.advance(.seconds(480))
        let done = await harness.status(Self.style, id)
        #expect(done.status == 200)
        #expect(done.body["status"] == "COMPLETED")
        #expect(done.body["metrics"]?["inference_time"]?.doubleValue == 500)
        let result = await harness.result(Self.style, id)
        #expect(result.status == 200)
        #expect(result.body["finetune_id"]?.stringValue?.isEmpty == false)
        #expect(await eventually { await harness.transport.webhooks.count == 1 })
    }

    @Test("portrait job returns LoRA and config files this server serves")
    func portraitFiles() async throws {
        let harness = try Harness()
        try await harness.serveArchive(photos: 10)
        let id = try await harness.submit(Self.portrait, Harness.portraitInput).requestId
        await harness.advance(.seconds(1000))
        let result = await harness.result(Self.portrait, id)
        let lora = try #require(result.body["diffusers_lora_file"]?["url"]?.stringValue)
        #expect(lora == "\(Harness.base)/files/\(id)/pytorch_lora_weights.safetensors")
        #expect(result.body["config_file"]?["url"]?.stringValue?.hasSuffix("config.json") == true)
        let file = try #require(await harness.queue.file(requestId: id, name: "pytorch_lora_weights.safetensors"))
        #expect(file.0.count == Int(result.body["diffusers_lora_file"]?["file_size"]?.intValue ?? -1))
    }

    @Test("the webhook carries FAL's body and a signature that verifies against the published JWKS")
    func signedWebhook() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        let id = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.advance(.seconds(500))
        #expect(await eventually { await harness.transport.webhooks.count == 1 })
        let hook = try #require(await harness.transport.webhooks.first)
        #expect(hook.url == Harness.webhookURL)
        let body = try JSONValue.parse(try #require(hook.body))
        #expect(body["status"] == "OK")
        #expect(body["request_id"]?.stringValue == id)
        #expect(body["payload"]?["finetune_id"] != nil)
        let headers = Dictionary(hook.headers, uniquingKeysWith: { a, _ in a })
        let timestamp = try #require(headers["X-Fal-Webhook-Timestamp"].flatMap(Int.init))
        #expect(timestamp == Int(harness.configuration.time.now().timeIntervalSince1970))
        let signature = try #require(headers["X-Fal-Webhook-Signature"].flatMap { Data(hexString: $0) })
        let message = WebhookKeyRing.signedMessage(
            requestId: try #require(headers["X-Fal-Webhook-Request-Id"]), userId: try #require(headers["X-Fal-Webhook-User-Id"]),
            timestamp: timestamp, body: hook.body!)
        let jwks = await harness.queue.keyRing.jwks
        let keys = try #require(jwks["keys"]?.arrayValue).compactMap { $0["x"]?.stringValue }.compactMap { Data(base64URLEncoded: $0) }
        let verified = try keys.contains { try Curve25519.Signing.PublicKey(rawRepresentation: $0).isValidSignature(signature, for: message) }
        #expect(verified)
        var tampered = message
        tampered[tampered.startIndex] ^= 1
        #expect(try !keys.contains { try Curve25519.Signing.PublicKey(rawRepresentation: $0).isValidSignature(signature, for: tampered) })
    }

    @Test("the seed's placeholder URL fails like an unreachable archive, without any traffic")
    func placeholderURL() async throws {
        let harness = try Harness()
        var input = Harness.styleInput.objectValue!
        input["data_url"] = "https://example.com/photos/42.zip"
        let id = try await harness.submit(Self.style, .object(input)).requestId
        await harness.queue.waitUntilIdle()
        #expect(await harness.transport.downloads.isEmpty)
        let status = await harness.status(Self.style, id)
        #expect(status.body["status"] == "COMPLETED")
        #expect(status.body["error_type"] == "file_download_error")
        #expect(status.body["error"]?.stringValue?.hasPrefix("Failed to download archive") == true)
        let result = await harness.result(Self.style, id)
        #expect(result.status == 422)
        #expect(result.problemTypes == ["file_download_error"])
        #expect(await eventually { await harness.transport.webhooks.count == 1 })
        let body = try JSONValue.parse(try #require(await harness.transport.webhooks.first?.body))
        #expect(body["status"] == "ERROR")
        #expect(body["error"] == "Invalid status code: 422")
        #expect(body["payload"]?["detail"]?.arrayValue?.first?["type"] == "file_download_error")
    }

    @Test("archive problems: 404, not a zip, too few images, unreadable image, too large")
    func archiveProblems() async throws {
        let cases: [(IncomingResponse?, String)] = [
            (nil, "file_download_error"),
            (IncomingResponse(status: 404), "file_download_error"),
            (IncomingResponse(status: 200, body: Data("not a zip".utf8)), "invalid_archive"),
            (IncomingResponse(status: 200, body: try photoZip(count: 5)), "archive_file_count_below_minimum"),
            (IncomingResponse(status: 200, body: try photoZip(count: 10, extra: ["broken.jpg": Data("junk".utf8)])), "image_load_error"),
            (IncomingResponse(status: 200, body: Data(count: 3 * 1024 * 1024)), "file_download_error"),
        ]
        for (response, expected) in cases {
            let harness = try Harness { $0.archivePolicy.maxBytes = 2 * 1024 * 1024 }
            if let response { await harness.transport.serve(Harness.archiveURL, response) }
            let id = try await harness.submit(Self.portrait, Harness.portraitInput).requestId
            await harness.queue.waitUntilIdle()
            let errorType = await harness.status(Self.portrait, id).body["error_type"]?.stringValue
            #expect(errorType == expected, "archive \(response.map { "HTTP \($0.status), \($0.body.count) bytes" } ?? "unreachable")")
        }
    }

    @Test("an archive's problems say why in FAL's ctx: which image would not load, and why the zip would not open")
    func archiveReasons() async throws {
        let cases: [(Data, String, JSONValue)] = [
            (try photoZip(count: 10, extra: ["broken.jpg": Data("junk".utf8)]), "reasons", ["broken.jpg": "not a readable JPEG, PNG or WebP image"]),
            (Data("not a zip".utf8), "reason", "does not start with PK"),
            (Data("PK but nothing else".utf8), "reason", "too short for a zip archive"),
        ]
        for (archive, key, expected) in cases {
            let harness = try Harness()
            await harness.transport.serve(Harness.archiveURL, IncomingResponse(status: 200, body: archive))
            let id = try await harness.submit(Self.portrait, Harness.portraitInput).requestId
            await harness.queue.waitUntilIdle()
            let detail = await harness.result(Self.portrait, id).body["detail"]?.arrayValue?.first
            #expect(detail?["ctx"]?[key] == expected)
        }
    }

    @Test("redirects are followed only to allowed hosts")
    func redirects() async throws {
        let harness = try Harness()
        await harness.transport.serve(Harness.archiveURL, IncomingResponse(status: 302, headers: [("Location", "http://localhost:9000/real.zip")]))
        await harness.transport.serve("http://localhost:9000/real.zip", IncomingResponse(status: 200, body: try photoZip(count: 12)))
        let ok = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.queue.waitUntilIdle()
        #expect(await harness.status(Self.style, ok).body["status"] == "IN_PROGRESS")

        await harness.transport.serve(Harness.archiveURL, IncomingResponse(status: 302, headers: [("Location", "https://evil.example/x.zip")]))
        let refused = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.queue.waitUntilIdle()
        #expect(await harness.status(Self.style, refused).body["error_type"] == "file_download_error")
        #expect(await !harness.transport.downloads.contains { $0.url.contains("evil") })
    }

    @Test("cancel: 202 while running, 400 once done, 404 unknown")
    func cancel() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        let id = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.advance(.seconds(10))
        let first = await harness.queue.cancel(prefix: Self.style, requestId: id, authorization: "Key test")
        #expect(first.status == 202)
        #expect(first.body["status"] == "CANCELLATION_REQUESTED")
        let again = await harness.queue.cancel(prefix: Self.style, requestId: id, authorization: "Key test")
        #expect(again.status == 400)
        #expect(again.body["status"] == "ALREADY_COMPLETED")
        #expect(await harness.queue.cancel(prefix: Self.style, requestId: "nope", authorization: "Key test").status == 404)
        await harness.advance(.seconds(1000))
        #expect(await harness.transport.webhooks.isEmpty)
        #expect(await harness.result(Self.style, id).status == 400)
    }
}

@Suite("Journal bound")
struct JournalBoundTests {
    @Test("the journal keeps the latest entries with unique sequence numbers")
    func trimmed() async throws {
        var configuration = MockFALConfiguration(contracts: try .bundled(), time: .virtual())
        configuration.journalLimit = 100
        let queue = FALQueue(configuration: configuration, logger: .init(label: "t"))
        for _ in 0..<1_000 { _ = await queue.status(prefix: "fal-ai/flux-lora", requestId: "missing", logs: false, authorization: "Key k") }
        let entries = await queue.journalEntries()
        #expect(entries.count <= 110 && entries.count >= 100)
        #expect(entries.last?.seq == 1_000)
        #expect(Set(entries.map(\.seq)).count == entries.count)
    }
}
