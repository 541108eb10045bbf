@testable import AishaSystem
import Foundation
import HummingbirdTesting
import Logging
import SupportKit
import Synchronization
import Testing

/// `/health` is liveness; `/health/ready` says whether this instance can do its work (database, object store); the
/// log can be JSON lines.
@Suite("Operations: readiness and JSON logs")
struct HealthTests {
    @Test("webhook mode: setWebhook is tried again (1 s, 2 s, 4 s …) until Telegram takes it, then never again")
    func webhookRegistrationRetries() async throws {
        let clock = VirtualClock()
        let time = TimeSource.virtual(clock)
        let telegram = RecordingTelegram()
        for _ in 0..<3 { await telegram.failNext("setWebhook", code: 502, description: "Bad Gateway") }
        var configuration = AishaConfiguration(telegramBotToken: "1:t", falKey: "k", archiveURLSecret: "s")
        configuration.telegramMode = .webhook
        configuration.telegramWebhookSecret = "secret"
        configuration.telegramWebhookURL = "https://bot.example/telegram/webhook"
        configuration.telegramAPIBaseURL = RecordingTelegram.base
        configuration.databaseURL = "sqlite://:memory:"
        configuration.storageURL = "memory://"
        let services = try await AishaServices.make(configuration, time: time, transport: RoutingTransport(telegram: telegram), logger: .quiet)
        try await buildApplication(services).test(.live) { _ in
            func tries() async -> [Int] { await telegram.calls.filter { $0.method == "setWebhook" }.map(\.status) }
            await time.settle()
            #expect(await tries() == [502])
            await time.advance(by: .seconds(1))
            #expect(await tries() == [502, 502])
            await time.advance(by: .seconds(2))
            #expect(await tries() == [502, 502, 502])
            await time.advance(by: .seconds(3))
            #expect(await tries() == [502, 502, 502], "the next try is 4 s after the last")
            await time.advance(by: .seconds(1))
            #expect(await tries() == [502, 502, 502, 200])
            await time.advance(by: .seconds(3600))
            #expect(await tries() == [502, 502, 502, 200])
        }
    }

    @Test("/health/ready: 200 while both answer; 503 naming the object store once its folder is gone, then the database once it is closed")
    func readiness() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aisha-ready-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let storage = folder.appendingPathComponent("storage")
        var configuration = AishaConfiguration(telegramBotToken: "1:t", falKey: "k", archiveURLSecret: "s")
        configuration.telegramMode = .off
        configuration.telegramAPIBaseURL = RecordingTelegram.base
        let store = try SQLiteAvatarStore(path: folder.appendingPathComponent("aisha.sqlite").path)
        let services = try await AishaServices.make(
            configuration, time: .virtual(), transport: RoutingTransport(telegram: RecordingTelegram()), store: store,
            objects: try FileObjectStore(root: storage), logger: .quiet)
        try await buildApplication(services).test(.router) { client in
            #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
            // The storage folder replaced by a file: nothing can be written.
            try FileManager.default.removeItem(at: storage)
            #expect(FileManager.default.createFile(atPath: storage.path, contents: Data()))
            let storageDown = try await client.execute(uri: "/health/ready", method: .get)
            #expect(storageDown.status == .serviceUnavailable)
            let body = try JSONValue.parse(Data(buffer: storageDown.body))
            #expect(body["down"]?["object_store"] != nil && body["down"]?["database"] == nil)
            await store.close()
            let bothDown = try JSONValue.parse(Data(buffer: try await client.execute(uri: "/health/ready", method: .get).body))
            #expect(bothDown["down"]?["database"] != nil, "\(bothDown)")
            #expect(bothDown["status"] == "not_ready")
        }
    }

    @Test("LOG_FORMAT=json: one JSON object per line, the metadata as fields; an unknown format is a configuration error")
    func jsonLogs() throws {
        final class Lines: Sendable { let all = Mutex<[String]>([]) }
        let lines = Lines()
        var logger = Logger(label: "aisha") { JSONLogHandler(label: $0, level: .info) { line in lines.all.withLock { $0.append(line) } } }
        logger[metadataKey: "avatar_id"] = "a1"
        logger.info("training completed", metadata: ["request_id": "r1", "user_id": "42"])
        logger.debug("not at this level")
        logger.error("submit failed: \"quoted\"\nsecond line")
        let parsed = try lines.all.withLock { $0 }.map { try JSONValue.parse(Data($0.utf8)) }
        #expect(parsed.count == 2)
        #expect(parsed.first?["message"] == "training completed" && parsed.first?["level"] == "info")
        #expect(parsed.first?["avatar_id"] == "a1" && parsed.first?["request_id"] == "r1" && parsed.first?["user_id"] == "42")
        #expect(parsed.last?["message"] == "submit failed: \"quoted\"\nsecond line" && parsed.last?["source"] != nil)
        #expect(lines.all.withLock { $0 }.allSatisfy { !$0.contains("\n") })
        let base = ["TELEGRAM_BOT_TOKEN": "t", "FAL_KEY": "k"]
        #expect(try AishaConfiguration.load(environment: base.merging(["LOG_FORMAT": "json"]) { $1 }).logFormat == .json)
        #expect(throws: ConfigurationError.self) { try AishaConfiguration.load(environment: base.merging(["LOG_FORMAT": "xml"]) { $1 }) }
    }
}
