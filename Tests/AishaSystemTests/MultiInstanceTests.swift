@testable import AishaSystem
import Foundation
import HummingbirdTesting
import MockFAL
import SupportKit
import Testing

/// Two AishaSystem instances (separate connection pools, as two processes would have) on one PostgreSQL database,
/// both running the webhook API, the poller and the notifier; users' updates are split between them.
@Suite("Several instances on one PostgreSQL database", .enabled(if: TestPostgres.available, TestPostgres.reason), .serialized)
struct MultiInstanceTests {
    static let users = 16

    @Test("conversations split across instances, confirm delivered to both, webhooks dropped or tripled: one submission and one ready message per avatar")
    func twoInstances() async throws {
        let url = try #require(TestPostgres.freshURL())
        let time = TimeSource.virtual(VirtualClock(), start: Date(timeIntervalSince1970: 1_790_000_000))
        var falConfiguration = MockFALConfiguration(contracts: try .bundled(), time: time)
        falConfiguration.stepDuration = .seconds(1)
        falConfiguration.seed = 7
        let fal = FALQueue(configuration: falConfiguration, logger: .quiet)
        // Some webhooks never arrive (the pollers of both instances race to finish those), others arrive three times.
        await fal.addFault(FaultRule(probability: 0.4, fault: Fault(webhook: .drop)))
        await fal.addFault(FaultRule(probability: 0.5, fault: Fault(webhook: .duplicate, webhookCopies: 3)))
        let telegram = RecordingTelegram()
        let objects = InMemoryObjectStore()  // the shared bucket
        try await MockFAL.buildApplication(falConfiguration, queue: fal, logger: .quiet).test(.live) { falClient in
            let falPort = falClient.port!
            func instance() async throws -> AishaServices {
                var configuration = BotHarness.configuration(falPort: falPort)
                configuration.pollInterval = .seconds(60)
                configuration.staleAfter = 300
                configuration.databaseURL = url
                return try await AishaServices.make(
                    configuration, time: time, transport: RoutingTransport(telegram: telegram), store: try await PostgresAvatarStore(url: url, logger: .quiet),
                    objects: objects, logger: .quiet)
            }
            let first = try await instance()
            let second = try await instance()
            try await AishaSystem.buildApplication(first).test(.live) { _ in
                try await AishaSystem.buildApplication(second).test(.live) { _ in
                    let a = BotHarness(time: time, fal: fal, telegram: telegram, services: first)
                    let b = a.on(second)
                    try await run(a, b)
                }
            }
            await first.store.close()
            await second.store.close()
        }
    }

    private func run(_ a: BotHarness, _ b: BotHarness) async throws {
        let users = (0..<Self.users).map { TelegramUser(id: Int64(50_000 + $0), isBot: false, firstName: "U\($0)", languageCode: "ru") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, user) in users.enumerated() {
                let (one, other) = index % 2 == 0 ? (a, b) : (b, a)
                group.addTask {
                    try await one.beginAvatar(name: "A\(index)", type: index % 3 == 0 ? "Художественный" : "Портретный", user: user)
                    await other.photos(10, from: user, seed: UInt64(user.id))
                    try await one.tap("Готово", as: user)
                    // The same confirm reaches both instances at once (a double tap behind a load balancer).
                    async let left: Void = one.tap("Начать обучение", as: user)
                    async let right: Void = other.tap("Начать обучение", as: user)
                    _ = try await (left, right)
                }
            }
            try await group.waitForAll()
        }
        #expect(await a.acceptedSubmits() == Self.users, "one paid submission per confirm")
        await a.advance(.seconds(1000))
        // Past staleness: the pollers of both instances ask FAL about the trainings whose webhook was dropped.
        var unfinished: [Int64] = []
        for _ in 0..<8 {
            unfinished = try await a.unfinished(users)
            if unfinished.isEmpty { break }
            await a.advance(.seconds(60))
            _ = await eventually(timeout: .seconds(5)) { await a.fal.journalEntries().contains { $0.kind == .status } }
        }
        #expect(try await eventually(timeout: .seconds(30)) {
            unfinished = try await a.unfinished(users)
            return unfinished.isEmpty
        }, "not finished: \(unfinished)")
        _ = try await a.services.notifier.drain()
        _ = try await b.services.notifier.drain()
        for user in users {
            let ready = await a.messageCount(containing: "готов!", to: user)
            #expect(ready == 1, "user \(user.id) got \(ready) ready messages")
            let ledger = try await a.services.store.ledger(userId: user.id).map(\.kind)
            #expect(ledger == [.grant, .charge], "user \(user.id): \(ledger)")
        }
        let dropped = await a.fal.journalEntries().filter { $0.kind == .status }.count
        #expect(dropped > 0, "some trainings were finished by a poller")
    }
}
