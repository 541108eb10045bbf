import AishaSystem
import Foundation
import MockFAL
import SupportKit
import Testing

/// Many users through the whole journey at once, on one virtual clock. `AISHA_LOAD_USERS` sets the size
/// (default 25 to keep CI short; the note on the reliability issue gives larger runs).
@Suite("Load: concurrent users, nothing lost or duplicated", .serialized)
struct LoadTests {
    static let users = Int(ProcessInfo.processInfo.environment["AISHA_LOAD_USERS"] ?? "") ?? 25

    @Test("every user's avatar completes and every user gets exactly one ready message")
    func concurrentJourneys() async throws {
        try await BotHarness.run(cost: 0, welcome: 0) { bot in
            let users = (0..<Self.users).map { TelegramUser(id: Int64(10_000 + $0), isBot: false, firstName: "U\($0)", languageCode: "ru") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, user) in users.enumerated() {
                    group.addTask {
                        try await bot.createAvatar(name: "A\(index)", type: index % 2 == 0 ? "Портретный" : "Художественный", photos: 10, user: user)
                        try await bot.tap("Начать обучение", as: user)
                    }
                }
                try await group.waitForAll()
            }
            #expect(await bot.fal.journalEntries().filter { $0.kind == "submit" && $0.verdict == "accepted" }.count == Self.users)
            await bot.advance(.seconds(1000))
            var stuck: [Int64] = []
            #expect(try await eventually(timeout: .seconds(60)) {
                stuck = []
                for user in users where try await bot.avatar(user)?.status != .completed { stuck.append(user.id) }
                return stuck.isEmpty
            }, "stuck avatars: \(stuck)")
            _ = try await bot.services.notifier.drain()
            for user in users {
                let ready = await bot.telegram.messages(to: user.id).filter { $0.text.contains("готов!") }.count
                #expect(ready == 1, "user \(user.id) got \(ready) ready messages")
            }
        }
    }
}
