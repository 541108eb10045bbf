import AishaSystem
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SupportKit
import Testing

@Suite("Webhook API: signatures, legacy form, idempotence")
struct WebhookAPITests {
    func services(verify: Bool) async throws -> AishaServices {
        var configuration = AishaConfiguration(telegramBotToken: "1:t", falKey: "k", archiveURLSecret: "s")
        configuration.telegramMode = .off
        configuration.falWebhookVerify = verify
        configuration.falJWKSURL = "http://127.0.0.1:9/jwks.json"
        configuration.telegramAPIBaseURL = RecordingTelegram.base
        return try await AishaServices.make(
            configuration, time: .virtual(), transport: RoutingTransport(telegram: RecordingTelegram()), store: try SQLiteAvatarStore(),
            objects: InMemoryObjectStore(), logger: .quiet)
    }

    @Test("unsigned webhook → 401 when verification is on; nothing written")
    func unsigned() async throws {
        let services = try await services(verify: true)
        try await buildApplication(services).test(.router) { client in
            let body: JSONValue = ["request_id": "r1", "status": "OK", "payload": ["finetune_id": "x"]]
            let response = try await client.execute(
                uri: "/api/v1/avatar/status_update?training_type=style", method: .post, body: ByteBuffer(bytes: try body.jsonData()))
            #expect(response.status == .unauthorized)
        }
    }

    @Test("the seed's curl (legacy short form) is accepted in dev mode: unknown request id → 404, nothing written")
    func legacyCurl() async throws {
        let services = try await services(verify: false)
        try await buildApplication(services).test(.router) { client in
            let body = #"{"request_id":"test_style","status":"completed","result":{"finetune_id":"test123"}}"#
            let response = try await client.execute(
                uri: "/api/v1/avatar/status_update?training_type=style", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: body))
            #expect(response.status == .notFound)
            #expect(String(buffer: response.body).contains("test_style"))
            let malformed = try await client.execute(uri: "/api/v1/avatar/status_update", method: .post, body: ByteBuffer(string: "{"))
            #expect(malformed.status == .badRequest)
            let noId = try await client.execute(uri: "/api/v1/avatar/status_update", method: .post, body: ByteBuffer(string: #"{"status":"OK"}"#))
            #expect(noId.status == .unprocessableContent)
        }
    }

    @Test("legacy form is refused when verification is on")
    func legacyRefused() throws {
        let body: JSONValue = ["request_id": "r", "status": "completed", "result": ["finetune_id": "x"]]
        #expect(throws: StatusReport.ParseError.self) { try StatusReport.parse(body, allowLegacy: false) }
        #expect(try StatusReport.parse(body, allowLegacy: true).outcome == .finetune(id: "x"))
    }

    @Test("FAL's real bodies: OK with finetune or LoRA, ERROR with detail, OK without a LoRA is a failure")
    func parsing() throws {
        #expect(try StatusReport.parse(["request_id": "r", "status": "OK", "payload": ["finetune_id": "f"]], allowLegacy: false).outcome == .finetune(id: "f"))
        let lora: JSONValue = ["request_id": "r", "status": "OK", "payload": ["diffusers_lora_file": ["url": "u"], "config_file": ["url": "c"]]]
        #expect(try StatusReport.parse(lora, allowLegacy: false).outcome == .lora(weightsURL: "u", configURL: "c"))
        let error: JSONValue = ["request_id": "r", "status": "ERROR", "error": "Invalid status code: 422", "payload": ["detail": [["msg": "Failed to download archive"]]]]
        #expect(try StatusReport.parse(error, allowLegacy: false).outcome == .failed(message: "Failed to download archive"))
        let empty: JSONValue = ["request_id": "r", "status": "OK", "payload": [:]]
        guard case .failed = try StatusReport.parse(empty, allowLegacy: false).outcome else { Issue.record("no failure"); return }
    }

    @Test("archive URLs: valid signature serves, wrong or expired → 403")
    func archiveSignatures() async throws {
        let services = try await services(verify: true)
        try await services.objects.put(Data("zip".utf8), key: "archives/a1/attempt-1.zip")
        let signer = ArchiveURLSigner(secret: "s", endpoint: services.endpoint)
        let url = signer.url(forKey: "archives/a1/attempt-1.zip", expires: services.time.now().addingTimeInterval(60))
        let path = String(url.dropFirst(services.endpoint.url.count))
        let forged = path.replacingOccurrences(of: "signature=", with: "signature=00")
        let traversal = "/api/v1/archives/..%2F..%2Fetc/passwd?expires=9999999999&signature=00"
        try await buildApplication(services).test(.router) { client throws in
            let valid = try await client.execute(uri: path, method: .get)
            #expect(valid.status == .ok)
            let wrong = try await client.execute(uri: forged, method: .get)
            #expect(wrong.status == .forbidden)
            await services.time.advance(by: .seconds(61))
            let expired = try await client.execute(uri: path, method: .get)
            #expect(expired.status == .forbidden)
            let escaped = try await client.execute(uri: traversal, method: .get)
            #expect(escaped.status == .forbidden)
        }
    }

    @Test("Telegram webhook: wrong secret → 401")
    func telegramSecret() async throws {
        let services = try await services(verify: true)
        try await buildApplication(services).test(.router) { client in
            let response = try await client.execute(uri: "/telegram/webhook", method: .post, body: ByteBuffer(string: "{}"))
            #expect(response.status == .unauthorized)
        }
    }
}

@Suite("Configuration from the environment")
struct ConfigurationTests {
    @Test("a missing required value is one clear line naming the variable")
    func missing() {
        #expect(throws: ConfigurationError(description: "missing TELEGRAM_BOT_TOKEN: set it in the environment or in .env")) {
            try AishaConfiguration.load(environment: [:])
        }
    }

    @Test("environment wins over .env, which wins over defaults")
    func precedence() throws {
        let configuration = try AishaConfiguration.load(
            environment: ["TELEGRAM_BOT_TOKEN": "env-token", "PORT": "9000"],
            dotEnv: "# comment\nTELEGRAM_BOT_TOKEN=file-token\nFAL_KEY=\"file-key\"\nSTYLE_TRAINER=flux-lora-fast-training\n")
        #expect(configuration.telegramBotToken == "env-token")
        #expect(configuration.falKey == "file-key")
        #expect(configuration.port == 9000)
        #expect(configuration.styleTrainer == .fluxLoraFastTraining)
        #expect(configuration.falWebhookVerify)
        #expect(configuration.avatarCreationCost == 150)
        #expect(configuration.databaseURL == "sqlite://aisha.sqlite")
    }

    @Test("invalid values are named")
    func invalid() {
        #expect(throws: ConfigurationError(description: "invalid TRAINING_PRESET=turbo")) {
            try AishaConfiguration.load(environment: ["TELEGRAM_BOT_TOKEN": "t", "FAL_KEY": "k", "TRAINING_PRESET": "turbo"])
        }
    }
}

@Suite("Server roles")
struct ServerRoleTests {
    func status(role: ServerRole, _ path: String) async throws -> HTTPResponse.Status {
        var configuration = AishaConfiguration(telegramBotToken: "1:t", falKey: "k", archiveURLSecret: "s")
        configuration.telegramMode = .off
        configuration.role = role
        configuration.telegramWebhookSecret = "x"
        let services = try await AishaServices.make(
            configuration, time: .virtual(), transport: RoutingTransport(telegram: RecordingTelegram()), store: try SQLiteAvatarStore(),
            objects: InMemoryObjectStore(), logger: .quiet)
        return try await buildApplication(services).test(.router) { client throws in
            try await client.execute(uri: path, method: .post, headers: [HTTPField.Name("X-Telegram-Bot-Api-Secret-Token")!: "x"], body: ByteBuffer(string: "{}")).status
        }
    }

    @Test("bot serves the Telegram webhook but not FAL's; api the reverse; all both")
    func routes() async throws {
        #expect(try await status(role: .bot, "/api/v1/avatar/status_update") == .notFound)
        #expect(try await status(role: .bot, "/telegram/webhook") == .badRequest)
        #expect(try await status(role: .api, "/telegram/webhook") == .notFound)
        #expect(try await status(role: .api, "/api/v1/avatar/status_update") == .unauthorized)
        #expect(try await status(role: .all, "/telegram/webhook") == .badRequest)
    }
}

@Suite("A webhook that beats the submit's answer")
struct EarlyWebhookTests {
    @Test("bound through avatar_id and attempt in its URL; a wrong attempt or an avatar with another request id stays 404")
    func earlyWebhook() async throws {
        let services = try await WebhookAPITests().services(verify: false)
        let store = services.store
        let now = services.time.now()
        _ = try await store.ensureUser(id: 7, firstName: "A", language: "ru", welcomeCredits: 150, now: now)
        let id = UUID()
        try await store.createAvatar(
            Avatar(id: id, ownerId: 7, name: "A", gender: .female, trainingType: .style, status: .draft, preset: .balanced, trainingAttempt: 0,
                   triggerWord: Avatar.triggerWord(for: id), progress: 0, createdAt: now, updatedAt: now))
        for index in 0..<10 {
            _ = try await store.addPhoto(
                AvatarPhoto(id: UUID(), avatarId: id, objectKey: "k\(index)", sha256: "s\(index)", size: 1, width: 512, height: 512, position: 0), limit: 20, now: now)
        }
        try await store.updateAvatar(id: id, now: now) { $0.status = .readyForTraining }
        _ = try await store.beginTraining(avatarId: id, ownerId: 7, cost: 150, trainerApp: "fal-ai/flux-pro-trainer", now: now)
        let body = ByteBuffer(string: #"{"request_id":"early-1","gateway_request_id":"early-1","status":"OK","payload":{"finetune_id":"ft-1"}}"#)
        let path = "/api/v1/avatar/status_update?avatar_id=\(id.uuidString.lowercased())"
        try await buildApplication(services).test(.router) { client in
            let wrongAttempt = try await client.execute(uri: path + "&attempt=2&training_type=style", method: .post, body: body)
            #expect(wrongAttempt.status == .notFound)
            #expect(try await store.avatar(id: id)?.falRequestId == nil)
            let bound = try await client.execute(uri: path + "&attempt=1&training_type=style", method: .post, body: body)
            #expect(bound.status == .ok)
            let avatar = try #require(try await store.avatar(id: id))
            #expect(avatar.status == .completed && avatar.falRequestId == "early-1" && avatar.finetuneId == "ft-1")
            // The submit's answer arriving afterwards changes nothing; another request id cannot take the attempt over.
            try await store.recordSubmission(avatarId: id, attempt: 1, requestId: "early-1", announcement: nil, now: now)
            let other = ByteBuffer(string: #"{"request_id":"other","status":"OK","payload":{"finetune_id":"ft-2"}}"#)
            #expect(try await client.execute(uri: path + "&attempt=1", method: .post, body: other).status == .notFound)
            #expect(try await store.avatar(id: id)?.finetuneId == "ft-1")
        }
    }
}
