import Foundation
import Logging
import SupportKit
import Synchronization

/// A Bot API error, sorted by what the caller should do about it.
public enum TelegramError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 403: the user blocked the bot. Mark them blocked; do not retry.
    case blocked
    /// 400 "message is not modified": nothing to do.
    case notModified
    /// 429: try again after `retryAfter` seconds.
    case tooManyRequests(retryAfter: Int)
    /// Any other answer with `ok: false`.
    case api(code: Int, description: String)
    /// A file larger than the caller's limit (or Telegram's "file is too big").
    case fileTooBig
    /// No answer (connection, timeout) or an unreadable one.
    case network(String)

    public var description: String {
        switch self {
        case .blocked: "Forbidden: bot was blocked by the user"
        case .notModified: "Bad Request: message is not modified"
        case .tooManyRequests(let seconds): "Too Many Requests: retry after \(seconds)"
        case .api(let code, let text): "\(code) \(text)"
        case .fileTooBig: "Bad Request: file is too big"
        case .network(let why): "network: \(why)"
        }
    }

    /// Telegram answered with a 5xx: nothing was sent, so trying again cannot send twice (a network failure could).
    public var isTransient: Bool {
        if case .api(let code, _) = self { return code >= 500 }
        return false
    }
}

/// The Telegram Bot API over the HTTP transport: `{base}/bot<token>/<method>`, files at `{base}/file/bot<token>/<path>`.
/// The token is never logged.
public struct TelegramClient: Sendable {
    let baseURL: String
    let token: String
    let transport: any HTTPTransport
    let time: TimeSource
    /// Telegram's flood waits, kept per chat: shared by every copy of this client.
    let floodWaits = FloodWaits()
    /// Chats that answered 403 (the user blocked the bot): nothing more is sent there until the user writes again.
    let blockedChats = BlockedChats()
    /// Off only to put back the bug of sending on during a flood wait (`InjectedDefect.floodWaitNotKept`).
    var keepsFloodWaits = true
    /// Where Bot API calls are counted by method and answer (the services' registry once wired).
    var metrics = AishaMetrics()

    public init(baseURL: String, token: String, transport: any HTTPTransport, time: TimeSource) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.transport = transport
        self.time = time
    }

    /// Calls a method with a JSON body; returns `result`. During a flood wait Telegram gave for the chat, the call
    /// is not sent: it fails at once with the seconds still to wait (sending would only be refused, and lengthen it).
    /// `chat` names the chat of a call whose parameters do not (a tap's answer), for its flood wait.
    public func call(_ method: String, _ parameters: [String: JSONValue] = [:], timeout: Duration = .seconds(30), chat: Int64? = nil) async throws -> JSONValue {
        let request = OutgoingRequest(
            method: "POST", url: "\(baseURL)/bot\(token)/\(method)", headers: [("Content-Type", "application/json")],
            body: try JSONValue.object(parameters).jsonData(), timeout: timeout, maxResponseBytes: 8 * 1024 * 1024)
        return try await send(request, method: method, chat: chat ?? parameters["chat_id"]?.intValue.map(Int64.init))
    }

    /// Calls a method with files: a multipart/form-data body of `fields` and `files` (field name, file name, bytes).
    public func upload(_ method: String, chat: Int64, fields: [(String, String)], files: [(field: String, name: String, data: Data)]) async throws -> JSONValue {
        let boundary = "aisha-\(UUID().uuidString)"
        var body = Data()
        for (name, value) in [("chat_id", String(chat))] + fields {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        for file in files {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\n".utf8))
            body.append(Data("Content-Type: application/octet-stream\r\n\r\n".utf8))
            body.append(file.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        let request = OutgoingRequest(
            method: "POST", url: "\(baseURL)/bot\(token)/\(method)", headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")],
            body: body, timeout: .seconds(120), maxResponseBytes: 8 * 1024 * 1024)
        return try await send(request, method: method, chat: chat)
    }

    /// Sends photos: one as a photo with its caption, several as an album (caption on the first).
    public func sendPhotos(chatId: Int64, photos: [Data], caption: String) async throws {
        if photos.count == 1 {
            _ = try await upload("sendPhoto", chat: chatId, fields: [("caption", caption)], files: [("photo", "image.png", photos[0])])
            return
        }
        let media: JSONValue = .array(photos.indices.map { index in
            var item: [String: JSONValue] = ["type": "photo", "media": .string("attach://photo\(index)")]
            if index == 0 { item["caption"] = .string(caption) }
            return .object(item)
        })
        let files = photos.enumerated().map { (field: "photo\($0.offset)", name: "image\($0.offset).png", data: $0.element) }
        _ = try await upload("sendMediaGroup", chat: chatId, fields: [("media", String(decoding: try media.jsonData(), as: UTF8.self))], files: files)
    }

    private func send(_ request: OutgoingRequest, method: String, chat: Int64?) async throws -> JSONValue {
        if keepsFloodWaits, let wait = floodWaits.remaining(chat: chat, now: time.now()) { throw TelegramError.tooManyRequests(retryAfter: wait) }
        // A tap's answer is not a message in the chat: Telegram takes it whether or not the bot is blocked there.
        if let chat, method != "answerCallbackQuery", blockedChats.contains(chat) { throw TelegramError.blocked }
        let response: IncomingResponse
        do {
            response = try await transport.send(request)
        } catch {
            metrics.telegramCall(method: method, result: "network")
            throw TelegramError.network(String(describing: error).replacingOccurrences(of: token, with: "<token>"))
        }
        guard let json = try? JSONValue.parse(response.body) else {
            metrics.telegramCall(method: method, result: "network")
            throw TelegramError.network("unreadable answer (HTTP \(response.status)) to \(method)")
        }
        if json["ok"] == true {
            metrics.telegramCall(method: method, result: "ok")
            return json["result"] ?? .null
        }
        let code = json["error_code"]?.intValue ?? response.status
        metrics.telegramCall(method: method, result: AishaMetrics.statusClass(code))
        let description = json["description"]?.stringValue ?? "HTTP \(response.status)"
        switch code {
        case 403:
            if let chat { blockedChats.insert(chat) }
            throw TelegramError.blocked
        case 429:
            let wait = json["parameters"]?["retry_after"]?.intValue ?? 1
            floodWaits.begin(chat: chat, until: time.now().addingTimeInterval(Double(max(wait, 1))))
            throw TelegramError.tooManyRequests(retryAfter: wait)
        case 400 where description.contains("message is not modified"): throw TelegramError.notModified
        case 400 where description.contains("file is too big"): throw TelegramError.fileTooBig
        default: throw TelegramError.api(code: code, description: description)
        }
    }

    /// Calls a method, waiting out 429s and retrying Telegram's 5xx after 1, 2… s on the clock
    /// (at most `attempts` tries).
    public func callRetrying(_ method: String, _ parameters: [String: JSONValue], attempts: Int = 3) async throws -> JSONValue {
        var attempt = 1
        while true {
            do {
                return try await call(method, parameters)
            } catch TelegramError.tooManyRequests(let seconds) where attempt < attempts {
                try await time.sleep(for: .seconds(min(max(seconds, 1), 60)))
            } catch let error as TelegramError where error.isTransient && attempt < attempts {
                try await time.sleep(for: .seconds(1 << (attempt - 1)))
            }
            attempt += 1
        }
    }

    @discardableResult
    public func sendMessage(chatId: Int64, text: String, buttons: [[Button]] = []) async throws -> Int64 {
        let result = try await callRetrying("sendMessage", Self.messageParameters(chatId: chatId, text: text, buttons: buttons))
        return Int64(result["message_id"]?.intValue ?? 0)
    }

    /// Replaces a message's text and keyboard (no buttons: the keyboard is removed). Unchanged content is no error.
    public func editMessage(chatId: Int64, messageId: Int64, text: String, buttons: [[Button]]) async throws {
        var parameters = Self.messageParameters(chatId: chatId, text: text, buttons: buttons)
        parameters["message_id"] = .int(Int(messageId))
        do { _ = try await callRetrying("editMessageText", parameters) } catch TelegramError.notModified {}
    }

    /// Removes a message's inline keyboard (a step that is done), so its buttons cannot be tapped by mistake.
    public func removeButtons(chatId: Int64, messageId: Int64) async throws {
        let parameters: [String: JSONValue] = ["chat_id": .int(Int(chatId)), "message_id": .int(Int(messageId)), "reply_markup": ["inline_keyboard": []]]
        do { _ = try await call("editMessageReplyMarkup", parameters) } catch TelegramError.notModified {}
    }

    public func deleteMessage(chatId: Int64, messageId: Int64) async throws {
        _ = try await call("deleteMessage", ["chat_id": .int(Int(chatId)), "message_id": .int(Int(messageId))])
    }

    /// Answers a tap in `chat` (during that chat's flood wait the answer is not sent: Telegram would refuse it).
    public func answerCallbackQuery(id: String, text: String? = nil, alert: Bool = false, chat: Int64? = nil) async throws {
        var parameters: [String: JSONValue] = ["callback_query_id": .string(id)]
        if let text { parameters["text"] = .string(String(text.prefix(200))) }
        if alert { parameters["show_alert"] = true }
        _ = try await call("answerCallbackQuery", parameters, chat: chat)
    }

    public func getUpdates(offset: Int64?, timeout: Int, limit: Int = 100) async throws -> [TelegramUpdate] {
        var parameters: [String: JSONValue] = ["timeout": .int(timeout), "limit": .int(limit), "allowed_updates": ["message", "callback_query"]]
        if let offset { parameters["offset"] = .int(Int(offset)) }
        let result = try await call("getUpdates", parameters, timeout: .seconds(Int64(timeout) + 15))
        return try TelegramUpdate.decoder().decode([TelegramUpdate].self, from: result.jsonData())
    }

    public func getFile(fileId: String) async throws -> TelegramFile {
        let result = try await call("getFile", ["file_id": .string(fileId)])
        return try TelegramUpdate.decoder().decode(TelegramFile.self, from: result.jsonData())
    }

    /// Downloads a file by its `file_path`, refusing more than `maxBytes`.
    public func downloadFile(path: String, maxBytes: Int) async throws -> Data {
        let request = OutgoingRequest(url: "\(baseURL)/file/bot\(token)/\(path)", timeout: .seconds(60), maxResponseBytes: maxBytes)
        let response: IncomingResponse
        do {
            response = try await transport.send(request)
        } catch HTTPTransportError.responseTooLarge {
            throw TelegramError.fileTooBig
        } catch {
            throw TelegramError.network("file download failed")
        }
        guard response.status == 200 else { throw TelegramError.api(code: response.status, description: "file download failed") }
        return response.body
    }

    public func setWebhook(url: String, secretToken: String?) async throws {
        var parameters: [String: JSONValue] = ["url": .string(url), "allowed_updates": ["message", "callback_query"]]
        if let secretToken { parameters["secret_token"] = .string(secretToken) }
        _ = try await call("setWebhook", parameters)
    }

    public func deleteWebhook() async throws {
        _ = try await call("deleteWebhook", [:])
    }

    static func messageParameters(chatId: Int64, text: String, buttons: [[Button]]) -> [String: JSONValue] {
        var parameters: [String: JSONValue] = ["chat_id": .int(Int(chatId)), "text": .string(text)]
        if !buttons.isEmpty {
            let keyboard = buttons.map { row in JSONValue.array(row.map { ["text": .string($0.text), "callback_data": .string($0.callbackData)] }) }
            parameters["reply_markup"] = ["inline_keyboard": .array(keyboard)]
        }
        return parameters
    }
}

/// The chats whose user blocked the bot, as far as this process has been told (a 403).
final class BlockedChats: Sendable {
    private let chats = Mutex<Set<Int64>>([])

    func insert(_ chat: Int64) { chats.withLock { _ = $0.insert(chat) } }
    func remove(_ chat: Int64) { chats.withLock { _ = $0.remove(chat) } }
    func contains(_ chat: Int64) -> Bool { chats.withLock { $0.contains(chat) } }
}

/// The flood waits Telegram is keeping: per chat, and one for calls that name no chat.
final class FloodWaits: Sendable {
    private let until = Mutex<[Int64?: Date]>([:])

    func begin(chat: Int64?, until end: Date) {
        until.withLock { $0[chat] = max($0[chat] ?? end, end) }
    }

    /// Whole seconds still to wait before calling for `chat`, or nil when Telegram would take the call now.
    func remaining(chat: Int64?, now: Date) -> Int? {
        until.withLock { waits in
            guard let end = waits[chat] else { return nil }
            guard end > now else {
                waits[chat] = nil
                return nil
            }
            return Int(end.timeIntervalSince(now).rounded(.up))
        }
    }
}
