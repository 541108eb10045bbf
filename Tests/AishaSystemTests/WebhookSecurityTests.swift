import AishaSystem
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MockFAL
import NIOCore
import SupportKit
import Testing

/// Serves a JWKS (which can change) and records Telegram calls; counts JWKS fetches.
actor JWKSPeer: HTTPTransport {
    var keys: WebhookKeyRing
    private(set) var fetches = 0
    let telegram = RecordingTelegram()

    init(keys: WebhookKeyRing) { self.keys = keys }

    func rotate(retireOld: Bool) { keys.rotate(seed: 7, retireOld: retireOld) }

    func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        if request.url.hasPrefix(RecordingTelegram.base) { return await telegram.handle(request) }
        fetches += 1
        return IncomingResponse(status: 200, body: try keys.jwks.jsonData())
    }
}

@Suite("Webhook security: only FAL-signed, fresh, untampered webhooks change anything")
struct WebhookSecurityTests {
    static let jwksURL = "http://jwks.test/.well-known/jwks.json"

    /// An AishaSystem with one avatar training under request id `req-1`.
    func system(_ peer: JWKSPeer) async throws -> AishaServices {
        var configuration = AishaConfiguration(telegramBotToken: "1:t", falKey: "k", archiveURLSecret: "s")
        configuration.telegramMode = .off
        configuration.falJWKSURL = Self.jwksURL
        configuration.telegramAPIBaseURL = RecordingTelegram.base
        let services = try await AishaServices.make(
            configuration, time: .virtual(), transport: peer, store: try SQLiteAvatarStore(), objects: InMemoryObjectStore(), logger: .quiet)
        _ = try await services.store.ensureUser(id: 1, firstName: "A", language: "ru", welcomeCredits: 150, now: services.time.now())
        let id = UUID()
        let now = services.time.now()
        try await services.store.createAvatar(
            Avatar(
                id: id, ownerId: 1, name: "A", gender: .female, trainingType: .style, status: .readyForTraining, preset: .balanced,
                trainingAttempt: 0, triggerWord: Avatar.triggerWord(for: id), progress: 0, createdAt: now, updatedAt: now))
        for index in 0..<10 {
            _ = try await services.store.addPhoto(
                AvatarPhoto(id: UUID(), avatarId: id, objectKey: "p/\(index)", sha256: "\(index)", size: 1, width: 600, height: 600, position: 0),
                limit: 20, now: now)
        }
        _ = try await services.store.beginTraining(avatarId: id, ownerId: 1, cost: 150, trainerApp: "fal-ai/flux-pro-trainer", now: now)
        try await services.store.recordSubmission(avatarId: id, attempt: 1, requestId: "req-1", announcement: nil, now: now)
        return services
    }

    static let body = Data(#"{"gateway_request_id":"req-1","payload":{"finetune_id":"ft-1"},"request_id":"req-1","status":"OK"}"#.utf8)

    func post(_ client: some TestClientProtocol, body: Data = body, headers: [(String, String)]) async throws -> HTTPResponse.Status {
        var fields = HTTPFields()
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        return try await client.execute(uri: "/api/v1/avatar/status_update?training_type=style", method: .post, headers: fields, body: ByteBuffer(bytes: body)).status
    }

    func signed(_ keys: WebhookKeyRing, _ services: AishaServices, body: Data = body, skew: Int = 0, requestId: String = "req-1") -> [(String, String)] {
        keys.headers(requestId: requestId, userId: "u", timestamp: Int(services.time.now().timeIntervalSince1970) + skew, body: body)
    }

    @Test("unsigned, forged, wrong-key, tampered and stale webhooks → 401 with nothing written; the real one → 200 once")
    func refusals() async throws {
        let keys = WebhookKeyRing(seed: 1)
        let peer = JWKSPeer(keys: keys)
        let services = try await system(peer)
        try await buildApplication(services).test(.router) { client throws in
            #expect(try await post(client, headers: []) == .unauthorized)
            var forged = signed(keys, services)
            forged[3].1 = String(repeating: "ab", count: 64)
            #expect(try await post(client, headers: forged) == .unauthorized)
            #expect(try await post(client, headers: signed(WebhookKeyRing(seed: 99), services)) == .unauthorized)
            let tampered = Data(String(decoding: Self.body, as: UTF8.self).replacingOccurrences(of: "ft-1", with: "ft-2").utf8)
            #expect(try await post(client, body: tampered, headers: signed(keys, services)) == .unauthorized)
            #expect(try await post(client, headers: signed(keys, services, skew: -301)) == .unauthorized)
            #expect(try await post(client, headers: signed(keys, services, skew: 301)) == .unauthorized)
            #expect(try await services.store.avatar(requestId: "req-1")?.status == .training)

            #expect(try await post(client, headers: signed(keys, services, skew: -300)) == .ok)
            for _ in 0..<9 { #expect(try await post(client, headers: signed(keys, services)) == .ok) }
            #expect(try await services.store.avatar(requestId: "req-1")?.finetuneId == "ft-1")
            _ = try await services.notifier.drain()
            #expect(await peer.telegram.messages(to: 1).filter { $0.text.contains("готов!") }.count == 1)
            #expect(await peer.fetches == 1)
        }
    }

    @Test("unknown request id, even signed → 404 and nothing written")
    func unknownRequest() async throws {
        let keys = WebhookKeyRing(seed: 1)
        let services = try await system(JWKSPeer(keys: keys))
        let body = Data(#"{"payload":{"finetune_id":"x"},"request_id":"nope","status":"OK"}"#.utf8)
        try await buildApplication(services).test(.router) { client throws in
            #expect(try await post(client, body: body, headers: signed(keys, services, body: body, requestId: "nope")) == .notFound)
            #expect(try await services.store.avatar(requestId: "req-1")?.status == .training)
        }
    }

    @Test("JWKS rotation: a webhook signed with a new key is accepted once the keys are refetched")
    func rotation() async throws {
        let peer = JWKSPeer(keys: WebhookKeyRing(seed: 1))
        let services = try await system(peer)
        try await buildApplication(services).test(.router) { client throws in
            let other = Data(#"{"request_id":"other","status":"OK","payload":{"finetune_id":"x"}}"#.utf8)
            #expect(try await post(client, body: other, headers: signed(await peer.keys, services, body: other, requestId: "other")) == .notFound)
            await peer.rotate(retireOld: true)
            await services.time.advance(by: .seconds(61))
            #expect(try await post(client, headers: signed(await peer.keys, services)) == .ok)
            #expect(await peer.fetches == 2)
        }
    }

    @Test("2 MB and 10 MB bodies → 413 and nothing written")
    func bodies() async throws {
        let services = try await system(JWKSPeer(keys: WebhookKeyRing(seed: 1)))
        try await buildApplication(services).test(.router) { client throws in
            for size in [2 << 20, 10 << 20] {
                let big = try await client.execute(uri: "/api/v1/avatar/status_update", method: .post, body: ByteBuffer(bytes: Data(count: size)))
                #expect(big.status == .contentTooLarge)
            }
            #expect(try await services.store.avatar(requestId: "req-1")?.status == .training)
        }
    }

    @Test("object keys refuse traversal, absolute paths and odd characters")
    func objectKeys() throws {
        for bad in ["../etc/passwd", "/abs", "a/../b", "a//b", "a/./b", "", "a\u{0}b", "a b"] {
            #expect(throws: ObjectStoreError.self, "\(bad)") { try ObjectKey.validate(bad) }
        }
        try ObjectKey.validate("photos/0f0e/abc123.png")
    }
}
