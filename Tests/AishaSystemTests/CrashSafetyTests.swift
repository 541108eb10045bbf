import AishaSystem
import Foundation
import HummingbirdTesting
import MockFAL
import ServiceLifecycle
import SupportKit
import Testing

/// The process dies at each stage of the training start, or right after sending "training started"; a fresh
/// instance on the same database file, storage, port, FAL and Telegram takes over. One paid submission per confirm,
/// no stuck avatar, the user told once (a message whose send the crash cut from its mark: once more).
@Suite("Crash safety: AishaSystem dies during the training start and is restarted", .serialized)
struct CrashSafetyTests {
    struct SimulatedCrash: Error {}

    /// Plays the journey to "start training" on an instance that dies at `point`, then runs `after` on its successor.
    func crash(
        at point: Checkpoint, faults: [FaultRule] = [], _ after: @Sendable (BotHarness) async throws -> Void
    ) async throws {
        let time = TimeSource.virtual(VirtualClock(), start: Date(timeIntervalSince1970: 1_790_000_000))
        var falConfiguration = MockFALConfiguration(contracts: try .bundled(), time: time)
        falConfiguration.stepDuration = .seconds(1)
        let fal = FALQueue(configuration: falConfiguration, logger: .quiet)
        for rule in faults { await fal.addFault(rule) }
        let telegram = RecordingTelegram()
        let objects = InMemoryObjectStore()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("aisha.sqlite").path
        try await MockFAL.buildApplication(falConfiguration, queue: fal, logger: .quiet).test(.live) { falClient in
            var configuration = BotHarness.configuration(falPort: falClient.port!)
            configuration.port = LoopbackPort.free()  // the successor listens where FAL's webhook goes
            configuration.submissionTimeout = 7200
            func instance(crashingAt point: Checkpoint?) async throws -> AishaServices {
                try await AishaServices.make(
                    configuration, time: time, transport: RoutingTransport(telegram: telegram), store: try SQLiteAvatarStore(path: database),
                    objects: objects, logger: .quiet, checkpoint: { if $0 == point { throw SimulatedCrash() } })
            }
            let dying = try await instance(crashingAt: point)
            try await serving(dying) {
                let bot = BotHarness(time: time, fal: fal, telegram: telegram, services: dying)
                try await bot.createAvatar(type: "Портретный")
                try await bot.tap("Начать обучение")
                #expect(try await bot.avatar()?.status == .training, "the start stopped half-way")
                // FAL fetches the archive from this instance; the test lets it finish before the instance dies (a fetch
                // in the gap before the successor listens would fail the job, as it would in production).
                await fal.waitUntilIdle()
                await time.settle()
            }
            let successor = try await instance(crashingAt: nil)
            try await serving(successor) {
                try await after(BotHarness(time: time, fal: fal, telegram: telegram, services: successor))
            }
        }
    }

    /// Serves `services` on their configured port (as a restarted process would) while `body` runs.
    func serving(_ services: AishaServices, _ body: () async throws -> Void) async throws {
        let (ready, listening) = AsyncStream<Void>.makeStream()
        let app = AishaSystem.buildApplication(services) { _ in listening.yield() }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: .quiet))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ready.makeAsyncIterator()
            _ = await iterator.next()
            do {
                try await body()
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("dies before the submit (after the charge, or after the archive): failed and refunded after STALE_AFTER, told once, retrain pays once", arguments: [Checkpoint.charged, .archiveBuilt])
    func beforeSubmit(point: Checkpoint) async throws {
        try await crash(at: point) { bot throws in
            #expect(await bot.acceptedSubmits() == 0)
            await bot.advance(.seconds(601))
            await bot.advance(.seconds(60))
            #expect(try await eventually { try await bot.avatar()?.status == .error })
            #expect(await eventually { await bot.messageCount(containing: "не удалось") == 1 })
            #expect(try await bot.services.store.ledger(userId: BotHarness.anna.id).map(\.kind) == [.grant, .charge, .refund])
            try await bot.tap("Обучить заново")
            try await bot.tap("Начать обучение")
            #expect(await bot.acceptedSubmits() == 1)
            await bot.advance(.seconds(1000))
            #expect(try await eventually { try await bot.avatar()?.status == .completed })
            #expect(await eventually { await bot.messageCount(containing: "готов!") == 1 })
            await bot.advance(.seconds(3600))
            #expect(await bot.messageCount(containing: "не удалось") == 1)
            #expect(try await bot.services.store.ledger(userId: BotHarness.anna.id).map(\.kind) == [.grant, .charge, .refund, .charge])
        }
    }

    @Test("dies after FAL accepted, before storing the request id: FAL's webhook finds the training through its URL; ready once, paid once")
    func afterSubmit() async throws {
        try await crash(at: .submitted) { bot throws in
            #expect(await bot.acceptedSubmits() == 1)
            #expect(try await bot.avatar()?.falRequestId == nil)
            await bot.advance(.seconds(1000))
            #expect(await eventually { await bot.fal.snapshots().first?.webhookAttempts.map(\.httpStatus) == [200] }, "the successor took the webhook")
            #expect(try await eventually { try await bot.avatar()?.status == .completed })
            #expect(try await bot.avatar()?.falRequestId != nil)
            #expect(await eventually { await bot.messageCount(containing: "готов!") == 1 })
            await bot.advance(.seconds(7200))
            #expect(await bot.messageCount(containing: "готов!") == 1)
            #expect(await bot.messageCount(containing: "не удалось") == 0)
            #expect(await bot.acceptedSubmits() == 1)
            #expect(try await bot.services.store.ledger(userId: BotHarness.anna.id).map(\.kind) == [.grant, .charge])
        }
    }

    @Test("dies after FAL accepted and FAL's webhook never comes: failed and refunded after SUBMISSION_TIMEOUT, not before, told once")
    func afterSubmitWithoutWebhook() async throws {
        try await crash(at: .submitted, faults: [FaultRule(fault: Fault(webhook: .drop))]) { bot throws in
            await bot.advance(.seconds(3600))
            #expect(try await bot.avatar()?.status == .training, "FAL may still be training it")
            for _ in 0..<4 { await bot.advance(.seconds(1000)) }
            #expect(try await eventually { try await bot.avatar()?.status == .error })
            #expect(await eventually { await bot.messageCount(containing: "не удалось") == 1 })
            #expect(try await bot.services.store.ledger(userId: BotHarness.anna.id).map(\.kind) == [.grant, .charge, .refund])
            #expect(await bot.acceptedSubmits() == 1)
        }
    }

    @Test("dies after sending \"training started\", before marking it: the successor sends it once more when the claim runs out, then \"ready\" once")
    func afterNotificationSent() async throws {
        try await crash(at: .notificationSent) { bot throws in
            #expect(await bot.messageCount(containing: "обучение запущено") == 1)
            await bot.advance(.seconds(1000))
            #expect(try await bot.avatar()?.status == .completed)
            #expect(await bot.messageCount(containing: "готов!") == 0, "the chat waits for its first message, still claimed by the dead sender")
            await bot.advance(.seconds(Notifier.claimLease))
            #expect(await bot.messageCount(containing: "обучение запущено") == 2)
            #expect(await bot.messageCount(containing: "готов!") == 1)
            await bot.advance(.seconds(7200))
            #expect(await bot.messageCount(containing: "обучение запущено") == 2)
            #expect(await bot.messageCount(containing: "готов!") == 1)
            #expect(try await bot.services.store.ledger(userId: BotHarness.anna.id).map(\.kind) == [.grant, .charge])
        }
    }
}
