import AishaSystem
import Foundation
import MockFAL
import SupportKit
import Testing

/// Many users through the whole journey at once, on one virtual clock. `AISHA_LOAD_USERS` sets the size
/// (default 24 to keep CI short; the note on the reliability issue gives larger runs).
@Suite("Load: concurrent users, nothing lost or duplicated", .serialized)
struct LoadTests {
    static let users = max(2, Int(ProcessInfo.processInfo.environment["AISHA_LOAD_USERS"] ?? "") ?? 24)
    static let dedicatedRun = ProcessInfo.processInfo.environment["AISHA_LOAD_USERS"] != nil

    @Test("every user's avatar completes and every user gets exactly one ready message; the second wave does not grow memory like the first")
    func concurrentJourneys() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("load-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Photos and archives on disk, as in production: what stays in memory is the system's own state.
        try await BotHarness.run(cost: 0, welcome: 0, objects: try FileObjectStore(root: folder)) { bot in
            let half = Self.users / 2
            let start = ResidentMemory.megabytes()
            try await wave(bot, users: (0..<half).map(Self.user))
            let afterFirst = ResidentMemory.megabytes()
            try await wave(bot, users: (half..<Self.users).map(Self.user))
            let afterSecond = ResidentMemory.megabytes()
            let perUser = (first: (afterFirst - start) / Double(half), second: (afterSecond - afterFirst) / Double(Self.users - half))
            print("load: \(Self.users) users, RSS \(Int(start)) → \(Int(afterFirst)) → \(Int(afterSecond)) MB (\(perUser.first) / \(perUser.second) MB per user)")
            // Bounded: a second wave as big as the first keeps at most 0.25 MB per user (measured ≈ 0.03 MB: journal,
            // recorded messages, rows), far below a photo set (≈ 0.75 MB) — a leak of photos or archives shows here.
            // Asserted only in a dedicated run (AISHA_LOAD_USERS=N swift test --filter LoadTests): in the full suite
            // other tests share this process's memory.
            let secondWave = Double(Self.users - half)
            if Self.dedicatedRun {
                #expect(afterSecond - afterFirst <= 16 + 0.25 * secondWave, "RSS grew \(afterSecond - afterFirst) MB over \(Int(secondWave)) users")
            }
            #expect(try await bot.services.store.nextNotificationDue() == nil, "nothing left in the outbox")
            #expect(await bot.fal.snapshots().allSatisfy { $0.status == "COMPLETED" })
        }
    }

    static func user(_ index: Int) -> TelegramUser {
        TelegramUser(id: Int64(10_000 + index), isBot: false, firstName: "U\(index)", languageCode: "ru")
    }

    /// `users` go through the journey at once; each avatar completes and each user is told exactly once.
    /// Everyone sends the same ten photos (duplicates are refused per avatar only), so the mock Telegram holds ten
    /// images rather than ten per user and the memory figure shows the system's own growth.
    static let photos = (0..<10).map { PNGEncoder.bilevel(width: 768, height: 768, seed: UInt64($0) + 1) }

    func wave(_ bot: BotHarness, users: [TelegramUser]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for user in users {
                group.addTask {
                    try await bot.beginAvatar(name: "A\(user.id)", type: user.id % 2 == 0 ? "Портретный" : "Художественный", user: user)
                    for photo in Self.photos { await bot.photo(photo, from: user) }
                    try await bot.tap("Готово", as: user)
                    try await bot.tap("Начать обучение", as: user)
                }
            }
            try await group.waitForAll()
        }
        #expect(await bot.acceptedSubmits() == Int(users.last!.id - 10_000) + 1, "one paid submission per user so far")
        await bot.advance(.seconds(1000))
        var stuck: [Int64] = []
        #expect(try await eventually(timeout: .seconds(60)) {
            stuck = try await bot.unfinished(users)
            return stuck.isEmpty
        }, "stuck avatars: \(stuck)")
        _ = try await bot.services.notifier.drain()
        for user in users {
            let ready = await bot.messageCount(containing: "готов!", to: user)
            #expect(ready == 1, "user \(user.id) got \(ready) ready messages")
        }
    }
}
