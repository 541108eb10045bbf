import AishaSystem
import Foundation
import SupportKit
import Testing

@Suite("Conversation: every bad input answered, nothing lost", .serialized)
struct ConversationTests {
    @Test("the avatar row is created with name, gender and type, status draft; state survives in the database (seed bug 2)")
    func avatarCreatedWithType() async throws {
        try await BotHarness.run { bot in
            await bot.send("/start")
            try await bot.tap("Создать аватар")
            await bot.send("  Анна  ")
            try await bot.tap("Женский")
            try await bot.tap("Художественный")
            let avatar = try #require(try await bot.avatar())
            #expect(avatar.name == "Анна")
            #expect(avatar.gender == .female)
            #expect(avatar.trainingType == .style)
            #expect(avatar.status == .draft)
            let state = try await bot.services.store.conversation(userId: 1001)
            #expect(state.step == .uploadingPhotos)
            #expect(state.avatarId == avatar.id)
            await bot.send("ещё текст")
            #expect(await bot.lastText() == Texts.expectingPhotos)
            #expect(try await bot.services.store.avatars(ownerId: 1001).count == 1)
        }
    }

    @Test("names: empty, 41 and 4096 characters and control characters are refused; the state stays on the name step")
    func names() async throws {
        try await BotHarness.run { bot in
            await bot.send("/start")
            try await bot.tap("Создать аватар")
            for bad in ["   ", String(repeating: "я", count: 41), String(repeating: "x", count: 4096), "Ан\u{7}на"] {
                await bot.send(bad)
                #expect(await bot.lastText().hasPrefix("Имя не подходит"))
            }
            #expect(try await bot.services.store.conversation(userId: 1001).step == .awaitingName)
            await bot.send(String(repeating: "я", count: 40))
            #expect(try await bot.services.store.conversation(userId: 1001).step == .awaitingGender)
        }
    }

    @Test("photos: not an image, too small, duplicate, 21st — each refused clearly, stored photos kept")
    func badPhotos() async throws {
        try await BotHarness.run { bot in
            try await bot.beginAvatar(type: "Портретный")
            await bot.photos(3)
            await bot.photo(Data("not an image".utf8))
            #expect(await bot.lastText().contains(Texts.photoNotImage))
            await bot.photo(Data())
            let emptyReply = await bot.lastText()
            #expect(emptyReply.contains(Texts.photoEmpty))
            await bot.photo(PNGEncoder.bilevel(width: 300, height: 800, seed: 99), width: 300)
            #expect(await bot.lastText().contains("слишком маленькое (300 px"))
            await bot.photo(PNGEncoder.bilevel(width: 768, height: 768, seed: 1))
            #expect(await bot.lastText().contains(Texts.photoDuplicate))
            await bot.photo(PNGEncoder.bilevel(width: 9000, height: 9000, seed: 5), width: 9000)
            #expect(await bot.lastText().contains(Texts.photoTooManyPixels))
            let avatar = try #require(try await bot.avatar())
            #expect(try await bot.services.store.photos(avatarId: avatar.id).count == 3)
            #expect(avatar.status == .uploading)
            await bot.photos(17, seed: 100)
            #expect(await bot.lastText().contains("Принято 20 из 10–20"))
            // One progress message for all of it, edited as photos came: refusals listed there, not one message each.
            let progress = await bot.telegram.messages(to: 1001).filter { $0.text.hasPrefix("📥 Принято") }
            #expect(progress.count == 1)
            #expect(progress.first?.text.contains(Texts.photoDuplicate) == true)
            #expect(progress.first?.edits == 24)
            await bot.photos(1, seed: 500)
            #expect(await bot.lastText().contains(Texts.photoLimit))
            #expect(try await bot.services.store.photos(avatarId: avatar.id).count == 20)
        }
    }

    @Test("'done' with fewer than 10 photos is refused")
    func notEnough() async throws {
        try await BotHarness.run { bot in
            try await bot.beginAvatar(type: "Портретный")
            await bot.photos(9)
            let avatar = try #require(try await bot.avatar())
            try await bot.callback("done:\(avatar.id.uuidString.lowercased())")
            #expect(await bot.telegram.toasts.last?.text == Texts.notEnoughPhotos(9))
            #expect(await bot.telegram.toasts.last?.alert == true, "the user must act: an alert")
        }
    }

    @Test("stale and forged buttons, another user's avatar: refused with the tap's own answer, no new chat message")
    func wrongButtons() async throws {
        try await BotHarness.run { bot in
            try await bot.callback("g:female")
            #expect(await bot.telegram.toasts.last?.text == Texts.staleButton)
            try await bot.callback("go:not-a-uuid")
            #expect(await bot.telegram.toasts.last?.text == Texts.staleButton)
            try await bot.callback("💥")
            #expect(await bot.telegram.toasts.count == 3)
            #expect(await bot.telegram.sent.isEmpty, "a refused tap sends no chat message")

            try await bot.createAvatar(type: "Портретный")
            let avatar = try #require(try await bot.avatar())
            try await bot.callback("go:\(avatar.id.uuidString.lowercased())", as: BotHarness.boris)
            #expect(await bot.telegram.toasts.last?.text == Texts.notYourAvatar)
            #expect(await bot.telegram.toasts.last?.alert == true)
            #expect(await bot.fal.journalEntries().isEmpty)
            try await bot.tap("Начать обучение")
            try await bot.callback("go:\(avatar.id.uuidString.lowercased())")
            #expect(await bot.telegram.toasts.last?.text == Texts.alreadyTraining)
            #expect(await bot.fal.journalEntries().filter { $0.kind == .submit }.count == 1)
        }
    }

    @Test("cancel during training tells FAL and refunds")
    func cancelTraining() async throws {
        try await BotHarness.run { bot in
            try await bot.createAvatar(type: "Портретный")
            try await bot.tap("Начать обучение")
            let avatar = try #require(try await bot.avatar())
            try await bot.callback("cancel:\(avatar.id.uuidString.lowercased())")
            #expect(await bot.lastText() == Texts.cancelledRefunded(150))
            #expect(await bot.fal.journalEntries().contains { $0.kind == .cancel && $0.httpStatus == 202 })
            #expect(try await bot.avatar()?.status == .cancelled)
            #expect(try await bot.services.store.user(id: 1001)?.balance == 150)
        }
    }
}
