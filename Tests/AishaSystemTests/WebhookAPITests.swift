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
