import Foundation
import SupportKit

/// A message the bot sent (or edited), as the mock keeps it.
public struct BotMessage: Sendable, Hashable, Codable {
    public var messageId: Int64
    public var chatId: Int64
    public var text: String
    /// Rows of (label, callback_data).
    public var buttons: [[InlineButton]]
    public var photo: Bool
    public var time: Date
    /// How many times the bot edited it (text or buttons); `text` and `buttons` are the latest.
    public var edits = 0

    public var labels: [String] { buttons.flatMap { $0.map(\.text) } }
}

public struct InlineButton: Sendable, Hashable, Codable {
    public var text: String
    public var callbackData: String
}

/// One Bot API call the bot made, and how the mock answered.
public struct BotAPICall: Sendable, Hashable, Codable {
    /// Why the mock answered as it did.
    public enum Cause: String, Sendable, Hashable, Codable {
        /// The method ran (its answer may still be an error the bot caused, e.g. "chat not found").
        case ran
        /// A fault the scenario injected answered.
        case fault
        /// The user blocked the bot (the scenario's `block_bot`).
        case blocked
        /// A retry before the `retry_after` of an earlier 429 had passed: Telegram keeps the flood wait.
        case floodWait = "flood_wait"
    }
    public var time: Date
    public var method: String
    public var status: Int
    public var description: String?
    public var chatId: Int64?
    public var cause: Cause = .ran
    /// The text (or caption) a send or edit carried, or a tap's toast.
    public var text: String?
    /// The keyboard a send or edit carried.
    public var buttons: [String]?
    /// Its place in the run's one sequence of events.
    public var order = EventOrder.next()
    /// `answerCallbackQuery` with `show_alert`.
    public var alert: Bool?
    /// A keyboard edit: the text of the message whose keyboard it changed (which one, for a reader of the chat).
    public var editedText: String?
}

/// An error the mock answers instead of running a method (429, 403, 400 …).
public struct TelegramFault: Sendable, Hashable, Codable {
    public var method: String
    public var code: Int
    public var description: String
    public var retryAfter: Int?
    public var times: Int
    /// Only a call whose text or caption contains this (nil: the next call of the method, whatever it says).
    public var textContains: String?

    public init(method: String, code: Int, description: String, retryAfter: Int? = nil, times: Int = 1, textContains: String? = nil) {
        self.method = method
        self.code = code
        self.description = description
        self.retryAfter = retryAfter
        self.times = times
        self.textContains = textContains
    }

    func applies(to method: String, _ params: [String: JSONValue]) -> Bool {
        guard self.method.lowercased() == method else { return false }
        guard let textContains else { return true }
        return (params["text"]?.stringValue ?? params["caption"]?.stringValue ?? "").contains(textContains)
    }
}

/// The state of the mock Telegram Bot API: users, the bot's messages, files, pending updates, webhook, faults.
public actor TelegramWorld {
    public let token: String
    let time: TimeSource
    let transport: any HTTPTransport
    var nextUpdateId: Int64 = 1
    var nextMessageId: Int64 = 1
    var pendingUpdates: [(id: Int64, update: JSONValue)] = []
    var pollWaiters: [CheckedContinuation<Void, Never>] = []
    public internal(set) var webhook: (url: String, secret: String?)?
    /// A load balancer in front of the webhook: updates alternate between these addresses (several instances).
    var balancedURLs: [String] = []
    var knownChats: Set<Int64> = []
    var blockedChats: Set<Int64> = []
    /// Chats in a flood wait after a 429, until the date given with its `retry_after`.
    var floodUntil: [Int64: Date] = [:]
    public internal(set) var messages: [BotMessage] = []
    public internal(set) var calls: [BotAPICall] = []
    var files: [String: (data: Data, path: String)] = [:]
    /// Each tap's query id and the user who tapped.
    var callbackQueries: [String: Int64] = [:]
    var faults: [TelegramFault] = []
    /// Webhook deliveries answered with a non-2xx status, for the report.
    public private(set) var failedDeliveries = 0

    public init(token: String, time: TimeSource, transport: any HTTPTransport = AsyncHTTPClientTransport()) {
        self.token = token
        self.time = time
        self.transport = transport
    }

    // MARK: The user's side (scenario steps)

    /// Users who have started the bot earlier: the bot may write to them (benchmarks; scenarios send `/start`).
    public func startedBot(userIds: some Sequence<Int64>) {
        knownChats.formUnion(userIds)
    }

    /// A user writes to the bot: the update is pushed to the webhook (and its answer awaited) or queued for getUpdates.
    @discardableResult
    public func userSends(from user: ScenarioUser, text: String? = nil, photo: [JSONValue]? = nil, document: JSONValue? = nil, mediaGroup: String? = nil) async -> Int {
        knownChats.insert(user.id)
        var message: [String: JSONValue] = [
            "message_id": .int(Int(takeMessageId())), "date": .int(Int(time.now().timeIntervalSince1970)),
            "chat": ["id": .int(Int(user.id)), "type": "private", "first_name": .string(user.firstName)],
            "from": user.json,
        ]
        if let text { message["text"] = .string(text) }
        if let photo { message["photo"] = .array(photo) }
        if let document { message["document"] = document }
        if let mediaGroup { message["media_group_id"] = .string(mediaGroup) }
        return await deliver(["message": .object(message)])
    }

    /// A user taps an inline button of one of the bot's messages.
    @discardableResult
    public func userTaps(from user: ScenarioUser, data: String, on message: BotMessage?) async -> Int {
        knownChats.insert(user.id)
        let id = "cq\(nextUpdateId)"
        callbackQueries[id] = user.id
        var query: [String: JSONValue] = ["id": .string(id), "from": user.json, "chat_instance": .string("ci\(user.id)"), "data": .string(data)]
        if let message {
            query["message"] = [
                "message_id": .int(Int(message.messageId)), "date": .int(Int(message.time.timeIntervalSince1970)),
                "chat": ["id": .int(Int(message.chatId)), "type": "private"], "text": .string(message.text),
            ]
        }
        return await deliver(["callback_query": .object(query)])
    }

    /// Taps the button labelled `label` (exactly, else the first containing it) on the latest keyboard sent to the
    /// user. Fails with the labels there are.
    public func userTaps(from user: ScenarioUser, label: String) async -> Result<(InlineButton, Int), TapFailure> {
        switch button(label, for: user, on: .latest) {
        case .success(let (button, message)): .success((button, await userTaps(from: user, data: button.callbackData, on: message)))
        case .failure(let failure): .failure(failure)
        }
    }

    /// The button labelled `label` (exactly, else the first containing it) on the message `which` names (by default
    /// the latest with a keyboard).
    public func button(_ label: String, for user: ScenarioUser, on which: MessageChoice) -> Result<(InlineButton, BotMessage), TapFailure> {
        let sent = messages(to: user.id)
        let chosen: BotMessage?
        switch which {
        case .latest: chosen = sent.last { !$0.buttons.isEmpty }
        case .containing(let text): chosen = sent.last { $0.text.contains(text) }
        case .fromEnd(let index): chosen = index >= 1 && index <= sent.count ? sent[sent.count - index] : nil
        }
        guard let message = chosen else {
            return .failure(TapFailure(label: label, available: [], message: which))
        }
        let buttons = message.buttons.flatMap { $0 }
        guard let button = buttons.first(where: { $0.text == label }) ?? buttons.first(where: { $0.text.contains(label) }) else {
            return .failure(TapFailure(label: label, available: message.labels, message: which))
        }
        return .success((button, message))
    }

    /// Sends `count` generated PNG photos (`seed` varies their content) and returns the bot's answers.
    public func userSendsPhotos(
        from user: ScenarioUser, count: Int, width: Int, height: Int, format: ImageFormat = .png, seed: UInt64, album: Bool = false
    ) async -> [Int] {
        var statuses: [Int] = []
        let group = album ? "album-\(seed)" : nil
        for index in 0..<count {
            let data = format.image(width: width, height: height, seed: seed &+ UInt64(index))
            let fileId = addFile(data, name: "photo_\(index).\(format.fileExtension)")
            statuses.append(await userSends(from: user, photo: Self.photoSizes(fileId: fileId, width: width, height: height, size: data.count), mediaGroup: group))
        }
        return statuses
    }

    /// Telegram's PhotoSize list for one upload: a thumbnail and the full size.
    public static func photoSizes(fileId: String, width: Int, height: Int, size: Int) -> [JSONValue] {
        [
            ["file_id": .string(fileId), "file_unique_id": .string("t\(fileId)"), "width": .int(max(1, width / 10)), "height": .int(max(1, height / 10))],
            ["file_id": .string(fileId), "file_unique_id": .string("u\(fileId)"), "width": .int(width), "height": .int(height), "file_size": .int(size)],
        ]
    }

    /// Stores a file the user "uploads" and returns its file_id.
    public func addFile(_ data: Data, name: String) -> String {
        let id = "F\(files.count + 1)_\(UUID().uuidString.prefix(8))"
        files[id] = (data, "photos/\(id)_\(name)")
        return id
    }

    public func inject(_ fault: TelegramFault) { faults.append(fault) }

    public func block(chat: Int64) { blockedChats.insert(chat) }

    /// Delivers updates to `url` from now on, as `setWebhook` would (a bot registered with an earlier mock).
    public func setWebhook(url: String, secret: String?) { webhook = (url, secret) }

    /// Puts a load balancer in front of the bot's webhook: from now on updates alternate between `urls`.
    public func balance(between urls: [String]) { balancedURLs = urls }

    /// Messages the bot sent to `chat`, oldest first.
    public func messages(to chat: Int64) -> [BotMessage] { messages.filter { $0.chatId == chat } }

    private func takeMessageId() -> Int64 {
        defer { nextMessageId += 1 }
        return nextMessageId
    }

    private func deliver(_ body: [String: JSONValue]) async -> Int {
        let id = nextUpdateId
        nextUpdateId += 1
        var update = body
        update["update_id"] = .int(Int(id))
        guard let webhook else {
            pendingUpdates.append((id, .object(update)))
            let waiters = pollWaiters
            pollWaiters = []
            for waiter in waiters { waiter.resume() }
            return 200
        }
        var headers = [("Content-Type", "application/json")]
        if let secret = webhook.secret { headers.append(("X-Telegram-Bot-Api-Secret-Token", secret)) }
        let data = (try? JSONValue.object(update).jsonData()) ?? Data()
        let url = balancedURLs.isEmpty ? webhook.url : balancedURLs[Int(id) % balancedURLs.count]
        var status = 0
        for _ in 0..<3 {
            status = (try? await transport.send(OutgoingRequest(method: "POST", url: url, headers: headers, body: data, timeout: .seconds(60))).status) ?? 0
            if (200..<300).contains(status) { return status }
            failedDeliveries += 1
        }
        return status
    }
}

/// Which of the bot's messages a tap is on.
public enum MessageChoice: Sendable, Hashable, CustomStringConvertible {
    /// The latest message with a keyboard.
    case latest
    /// The latest message whose text contains this.
    case containing(String)
    /// 1 is the latest message, 2 the one before, …
    case fromEnd(Int)

    public var description: String {
        switch self {
        case .latest: "the latest keyboard"
        case .containing(let text): "the message containing '\(text)'"
        case .fromEnd(let index): "message \(index) from the end"
        }
    }
}

/// A tap that found no such button.
public struct TapFailure: Error, Sendable, CustomStringConvertible {
    public var label: String
    public var available: [String]
    public var message = MessageChoice.latest

    public var description: String {
        switch (message, available.isEmpty) {
        case (.latest, true): "tap '\(label)': no bot message has buttons"
        case (_, true): "tap '\(label)': \(message) has no buttons (or there is no such message)"
        case (_, false): "tap '\(label)': no such button on \(message); buttons there: \(available.map { "'\($0)'" }.joined(separator: ", "))"
        }
    }
}

/// A Telegram user of a scenario.
public struct ScenarioUser: Sendable, Hashable, Codable {
    public var id: Int64
    public var firstName: String
    public var language: String

    public init(id: Int64, firstName: String, language: String = "ru") {
        self.id = id
        self.firstName = firstName
        self.language = language
    }

    var json: JSONValue {
        ["id": .int(Int(id)), "is_bot": false, "first_name": .string(firstName), "language_code": .string(language)]
    }
}
