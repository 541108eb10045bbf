import AishaSystem
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MockFAL
import SupportKit

/// AishaSystem and strict MockFAL on loopback, one virtual clock, Telegram recorded in memory. Updates are
/// handed to the conversation directly, as the polling or webhook intake would.
struct BotHarness: Sendable {
    let time: TimeSource
    let fal: FALQueue
    let telegram: RecordingTelegram
    let services: AishaServices
    var updateIds = Counter()

    /// Runs `body` with both servers up.
    static func run(
        cost: Int = 150, welcome: Int = 150, styleTrainer: StyleTrainer = .fluxProTrainer, verify: Bool = true,
        objects: (any ObjectStore)? = nil, configureFAL: (inout MockFALConfiguration) -> Void = { _ in },
        losesAnswer: @escaping @Sendable (OutgoingRequest) -> Bool = { _ in false },
        checkpoint: @escaping @Sendable (Checkpoint) async throws -> Void = { _ in },
        _ body: @Sendable (BotHarness) async throws -> Void
    ) async throws {
        let time = TimeSource.virtual(VirtualClock(), start: Date(timeIntervalSince1970: 1_790_000_000))
        var falConfiguration = MockFALConfiguration(contracts: try .bundled(), time: time)
        falConfiguration.stepDuration = .seconds(1)
        configureFAL(&falConfiguration)
        let quiet = Logger.quiet
        let fal = FALQueue(configuration: falConfiguration, logger: quiet)
        let telegram = RecordingTelegram()
        try await MockFAL.buildApplication(falConfiguration, queue: fal, logger: quiet).test(.live) { falClient in
            var configuration = configuration(falPort: falClient.port!)
            configuration.falWebhookVerify = verify
            configuration.avatarCreationCost = cost
            configuration.welcomeCredits = welcome
            configuration.styleTrainer = styleTrainer
            configuration.logLevel = .critical
            let services = try await AishaServices.make(
                configuration, time: time, transport: RoutingTransport(telegram: telegram, losesAnswer: losesAnswer), store: try SQLiteAvatarStore(),
                objects: objects ?? InMemoryObjectStore(), logger: quiet, checkpoint: checkpoint)
            try await AishaSystem.buildApplication(services).test(.live) { _ in
                try await body(BotHarness(time: time, fal: fal, telegram: telegram, services: services))
            }
        }
    }

    /// AishaSystem's settings against MockFAL on `falPort` and the recorded Telegram, on an ephemeral port.
    static func configuration(falPort: Int) -> AishaConfiguration {
        let falURL = "http://localhost:\(falPort)"
        var configuration = AishaConfiguration(telegramBotToken: "123:test", falKey: "test-key", archiveURLSecret: "secret")
        configuration.port = 0
        configuration.telegramMode = .off
        configuration.telegramAPIBaseURL = RecordingTelegram.base
        configuration.falQueueBaseURL = falURL
        configuration.falJWKSURL = "\(falURL)/.well-known/jwks.json"
        return configuration
    }

    /// The same world (clock, MockFAL, Telegram) seen through another AishaSystem instance.
    func on(_ other: AishaServices) -> BotHarness {
        BotHarness(time: time, fal: fal, telegram: telegram, services: other, updateIds: updateIds)
    }

    static let anna = TelegramUser(id: 1001, isBot: false, firstName: "Anna", languageCode: "ru")
    static let boris = TelegramUser(id: 2002, isBot: false, firstName: "Boris", languageCode: "ru")

    func message(_ user: TelegramUser, text: String? = nil, photo: [TelegramPhotoSize]? = nil, document: TelegramDocument? = nil) async {
        let id = await updateIds.next()
        let message = TelegramMessage(
            messageId: id, date: 0, chat: TelegramChat(id: user.id, type: "private"), from: user, text: text, photo: photo, document: document)
        await services.conversation.handle(TelegramUpdate(updateId: id, message: message))
    }

    func send(_ text: String, from user: TelegramUser = anna) async { await message(user, text: text) }

    /// Taps a button of the last bot message to `user` that has buttons, by (part of) its label.
    func tap(_ label: String, as user: TelegramUser = anna, in chat: Int64? = nil) async throws {
        let messages = await telegram.messages(to: chat ?? user.id)
        let keyboard = messages.last(where: { !$0.buttons.isEmpty })
        guard let data = keyboard?.buttons.first(where: { $0["text"]!.contains(label) })?["callback_data"] else {
            let recent = messages.suffix(3).map(\.text).joined(separator: " | ")
            throw HarnessError("no button '\(label)' in the last keyboard; last messages: \(recent)")
        }
        try await callback(data, as: user, chat: chat ?? user.id, on: keyboard?.id)
    }

    /// A tap with `data` on the message `on` (by default one that does not exist: a raw callback).
    func callback(_ data: String, as user: TelegramUser = anna, chat: Int64? = nil, on messageId: Int64? = nil) async throws {
        let id = await updateIds.next()
        let message = TelegramMessage(messageId: messageId ?? -id, date: 0, chat: TelegramChat(id: chat ?? user.id, type: "private"), from: nil)
        let query = TelegramCallbackQuery(id: "cb\(id)", from: user, message: message, chatInstance: "ci", data: data)
        await services.conversation.handle(TelegramUpdate(updateId: id, callbackQuery: query))
    }

    /// Sends `count` distinct PNG photos of `size`×`size`.
    func photos(_ count: Int, size: Int = 768, from user: TelegramUser = anna, seed: UInt64 = 1) async {
        for index in 0..<count {
            await photo(PNGEncoder.bilevel(width: size, height: size, seed: seed &+ UInt64(index)), from: user, width: size)
        }
    }

    func photo(_ data: Data, from user: TelegramUser = anna, width: Int = 768) async {
        let id = await telegram.addFile(data)
        await message(user, photo: [TelegramPhotoSize(fileId: id, width: width, height: width, fileSize: data.count)])
    }

    /// Goes from /start to the photo step.
    func beginAvatar(name: String = "Анна", gender: String = "Женский", type: String, user: TelegramUser = anna) async throws {
        await send("/start", from: user)
        try await tap("Создать аватар", as: user)
        await send(name, from: user)
        try await tap(gender, as: user)
        try await tap(type, as: user)
    }

    /// Goes from /start to the confirmation screen.
    func createAvatar(name: String = "Анна", gender: String = "Женский", type: String, photos count: Int = 12, user: TelegramUser = anna) async throws {
        try await beginAvatar(name: name, gender: gender, type: type, user: user)
        await photos(count, from: user, seed: UInt64(user.id))
        try await tap("Готово", as: user)
    }

    func lastText(_ user: TelegramUser = anna) async -> String { await telegram.messages(to: user.id).last?.text ?? "" }

    func avatar(_ user: TelegramUser = anna) async throws -> Avatar? { try await services.store.avatars(ownerId: user.id).last }

    /// Submissions FAL accepted (each one a paid training).
    func acceptedSubmits() async -> Int {
        await fal.journalEntries().filter { $0.kind == .submit && $0.verdict == .accepted }.count
    }

    /// How many bot messages to `user` contain `text`.
    func messageCount(containing text: String, to user: TelegramUser = anna) async -> Int {
        await telegram.messages(to: user.id).filter { $0.text.contains(text) }.count
    }

    /// The users whose latest avatar has not completed.
    func unfinished(_ users: [TelegramUser]) async throws -> [Int64] {
        var ids: [Int64] = []
        for user in users where try await avatar(user)?.status != .completed { ids.append(user.id) }
        return ids
    }

    /// Advances the shared clock; MockFAL finishes jobs and sends webhooks, which AishaSystem stores.
    func advance(_ duration: Duration) async {
        await fal.waitUntilIdle()
        await time.advance(by: duration)
        await fal.waitUntilIdle()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

actor Counter {
    private var value: Int64 = 0
    func next() -> Int64 {
        value += 1
        return value
    }
}

extension Logger {
    static var quiet: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }
}
