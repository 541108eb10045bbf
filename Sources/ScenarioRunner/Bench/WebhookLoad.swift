import AishaSystem
import Foundation
import Logging
import MockFAL
import SupportKit

/// AishaSystem's `status_update`: signed webhooks verified against the JWKS, stored on SQLite, notification queued.
enum WebhookLoad {
    static func ingestion(_ options: Bench.Options) async throws -> [BenchFigure] {
        // As the issue defines it (verified, stored, notification queued), then the queue sent; and, for comparison,
        // both at once on the same two cores (a mock Telegram answers at once; the real one allows ~30 messages/s).
        let alone = try await measure(options, notifierRunning: false)
        let together = try await measure(options, notifierRunning: true)
        return alone + together
    }

    private static func measure(_ options: Bench.Options, notifierRunning: Bool) async throws -> [BenchFigure] {
        let quiet = Logger.quiet("bench")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aisha-bench-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var falConfiguration = MockFALConfiguration(contracts: try .bundled())
        falConfiguration.port = 0
        let fal = FALQueue(configuration: falConfiguration, logger: quiet)
        let falServer = try await RunningServer.start(logger: quiet) { running in
            MockFAL.buildApplication(falConfiguration, queue: fal, logger: quiet, onServerRunning: running)
        }
        // The notifications go to a mock Telegram, as they would in production (sent once each, not retried).
        let world = TelegramWorld(token: "1:bench", time: .live)
        let telegramServer = try await RunningServer.start(logger: quiet) { running in
            MockTelegramServer.buildApplication(world: world, logger: quiet, onServerRunning: running)
        }
        var configuration = AishaConfiguration(telegramBotToken: "1:bench", falKey: "bench", archiveURLSecret: "bench")
        configuration.port = 0
        configuration.telegramMode = .off
        configuration.telegramAPIBaseURL = "http://127.0.0.1:\(telegramServer.port)"
        configuration.falJWKSURL = "http://127.0.0.1:\(falServer.port)/.well-known/jwks.json"
        configuration.databaseURL = "sqlite://\(folder.appendingPathComponent("bench.sqlite").path)"
        configuration.storageURL = "memory://"
        configuration.logLevel = .critical
        let services = try await AishaServices.make(configuration, logger: quiet)
        let ids = try await seedTrainings(services, count: options.webhooks)
        await world.startedBot(userIds: 1...Int64(ids.count))
        let server = try await RunningServer.start(logger: quiet) { running in
            AishaSystem.buildApplication(services, backgroundServices: notifierRunning, onServerRunning: running)
        }
        let keys = await fal.keyRing
        let url = "http://127.0.0.1:\(server.port)/api/v1/avatar/status_update?training_type=style"
        let transport = AsyncHTTPClientTransport()
        // Signed before the clock starts: signing is FAL's work, not the receiver's (it cost the shared cores a fifth).
        let requests = ids.enumerated().map { index, id in
            let body = Data(#"{"gateway_request_id":"\#(id)","payload":{"finetune_id":"ft-\#(index)"},"request_id":"\#(id)","status":"OK"}"#.utf8)
            var headers = keys.headers(requestId: id, userId: "bench", timestamp: Int(Date().timeIntervalSince1970), body: body)
            headers.append(("Content-Type", "application/json"))
            return OutgoingRequest(method: "POST", url: url, headers: headers, body: body)
        }
        let (seconds, latencies, statuses) = try await QueueLoad.measure(count: ids.count, clients: options.clients) { index in
            try await transport.send(requests[index]).status
        }
        let accepted = statuses.filter { $0 == 200 }.count
        let latency = "p50 \(QueueLoad.ms(latencies, 50)) ms, p99 \(QueueLoad.ms(latencies, 99)) ms"
        var figures: [BenchFigure] = []
        if notifierRunning {
            figures.append(
                BenchFigure(
                    name: "ingestion while notifying", value: Double(accepted) / seconds, unit: "hook/s",
                    note: "\(accepted)/\(ids.count) stored; the notifier sends meanwhile; \(latency)"))
        } else {
            figures.append(
                BenchFigure(
                    name: "status_update ingestion (SQLite)", value: Double(accepted) / seconds, unit: "hook/s",
                    note: "\(accepted)/\(ids.count) verified, stored, notification queued; \(latency)"))
            let start = ContinuousClock.now
            let sent = try await services.notifier.drain()
            let drained = (ContinuousClock.now - start).timeInterval
            let received = await world.messages.count
            figures.append(
                BenchFigure(
                    name: "outbox delivery (SQLite)", value: Double(sent) / drained, unit: "msg/s",
                    note: "\(sent) claimed, sent to a mock Telegram and marked sent (\(received) received)"))
        }
        await server.stop()
        await falServer.stop()
        await telegramServer.stop()
        return figures
    }

    /// Trainings under request ids `bench-<n>`, each with the 10 photos a training needs, each of another user (as
    /// trainings in flight are; one chat's messages go one at a time).
    static func seedTrainings(_ services: AishaServices, count: Int) async throws -> [String] {
        let store = services.store
        let now = Date()
        var ids: [String] = []
        for index in 0..<count {
            let id = UUID()
            let owner = Int64(index + 1)
            _ = try await store.ensureUser(id: owner, firstName: "Bench \(index)", language: "ru", welcomeCredits: 0, now: now)
            try await store.createAvatar(
                Avatar(
                    id: id, ownerId: owner, name: "B\(index)", gender: .female, trainingType: .style, status: .readyForTraining, preset: .balanced,
                    trainingAttempt: 0, triggerWord: Avatar.triggerWord(for: id), progress: 0, createdAt: now, updatedAt: now))
            for photo in 0..<TrainingRules.minPhotos {
                _ = try await store.addPhoto(
                    AvatarPhoto(id: UUID(), avatarId: id, objectKey: "p/\(index)/\(photo)", sha256: "\(photo)", size: 1, width: 600, height: 600, position: 0),
                    limit: TrainingRules.maxPhotos, now: now)
            }
            _ = try await store.beginTraining(avatarId: id, ownerId: owner, cost: 0, trainerApp: "fal-ai/flux-pro-trainer", now: now)
            try await store.recordSubmission(avatarId: id, attempt: 1, requestId: "bench-\(index)", announcement: nil, now: now)
            ids.append("bench-\(index)")
        }
        return ids
    }
}
