import Foundation
import SupportKit

extension TelegramWorld {
    /// Runs a Bot API method with already decoded parameters; answers Telegram's `{"ok":…}` envelope.
    public func call(token given: String, method rawMethod: String, _ params: [String: JSONValue]) async -> (Int, JSONValue) {
        let method = rawMethod.lowercased()
        let chat =
            params["chat_id"]?.intValue.map(Int64.init) ?? params["chat_id"]?.stringValue.flatMap { Int64($0) }
            ?? params["callback_query_id"]?.stringValue.flatMap { callbackQueries[$0] }
        guard given == token else { return record(method, error(401, "Unauthorized"), chat: chat, params: params) }
        if let chat, let until = floodUntil[chat], until > time.now() {
            let wait = Int(until.timeIntervalSince(time.now()).rounded(.up))
            return record(method, error(429, "Too Many Requests: retry after \(wait)", retryAfter: wait), chat: chat, cause: .floodWait, params: params)
        }
        if let index = faults.firstIndex(where: { $0.applies(to: method, params) }) {
            let fault = faults[index]
            faults[index].times -= 1
            if faults[index].times <= 0 { faults.remove(at: index) }
            if fault.code == 429, let chat, let wait = fault.retryAfter { floodUntil[chat] = time.now().addingTimeInterval(Double(wait)) }
            return record(method, error(fault.code, fault.description, retryAfter: fault.retryAfter), chat: chat, cause: .fault, params: params)
        }
        if let chat, blockedChats.contains(chat), ["sendmessage", "sendphoto", "sendmediagroup", "editmessagetext", "editmessagereplymarkup"].contains(method) {
            return record(method, error(403, "Forbidden: bot was blocked by the user"), chat: chat, cause: .blocked, params: params)
        }
        let answer: (Int, JSONValue)
        switch method {
        case "getme":
            answer = ok(["id": 777_000, "is_bot": true, "first_name": "Aisha", "username": "aisha_mock_bot"])
        case "getupdates":
            return record(method, await getUpdates(params))
        case "setwebhook":
            guard let url = params["url"]?.stringValue else { return record(method, error(400, "Bad Request: bad webhook: URL is empty")) }
            if url.isEmpty {
                webhook = nil
            } else {
                webhook = (url, params["secret_token"]?.stringValue)
            }
            answer = ok(true)
        case "deletewebhook":
            webhook = nil
            answer = ok(true)
        case "getwebhookinfo":
            answer = ok(["url": .string(webhook?.url ?? ""), "pending_update_count": .int(pendingUpdates.count)])
        case "sendmessage", "sendphoto":
            answer = send(params, photo: method == "sendphoto")
        case "sendmediagroup":
            answer = sendAlbum(params)
        case "editmessagetext", "editmessagereplymarkup":
            answer = edit(params, textOnly: method == "editmessagereplymarkup" ? false : true)
        case "deletemessage":
            let id = params["message_id"]?.intValue.map(Int64.init)
            if let index = messages.firstIndex(where: { $0.messageId == id && $0.chatId == Int64(params["chat_id"]?.intValue ?? 0) }) {
                messages.remove(at: index)
                answer = ok(true)
            } else {
                answer = error(400, "Bad Request: message to delete not found")
            }
        case "answercallbackquery":
            let id = params["callback_query_id"]?.stringValue ?? ""
            answer = callbackQueries[id] != nil ? ok(true) : error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        case "getfile":
            let id = params["file_id"]?.stringValue ?? ""
            guard let file = files[id] else { return record(method, error(400, "Bad Request: invalid file_id")) }
            guard file.data.count <= 20 * 1024 * 1024 else { return record(method, error(400, "Bad Request: file is too big")) }
            answer = ok(["file_id": .string(id), "file_unique_id": .string("u\(id)"), "file_size": .int(file.data.count), "file_path": .string(file.path)])
        default:
            answer = error(404, "Not Found: method not found")
        }
        return record(method, answer, chat: chat, params: params)
    }

    /// Bytes of a file by `file_path`.
    public func file(token given: String, path: String) -> Data? {
        guard given == token else { return nil }
        return files.values.first { $0.path == path }?.data
    }

    private func getUpdates(_ params: [String: JSONValue]) async -> (Int, JSONValue) {
        if webhook != nil {
            return error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        }
        if let offset = params["offset"]?.intValue { pendingUpdates.removeAll { $0.id < Int64(offset) } }
        let limit = min(max(params["limit"]?.intValue ?? 100, 1), 100)
        let timeout = min(max(params["timeout"]?.intValue ?? 0, 0), 50)
        if pendingUpdates.isEmpty, timeout > 0 {
            let wake = Task { [weak self] in
                try? await Task.sleep(for: .seconds(timeout))
                await self?.wakePollers()
            }
            await withCheckedContinuation { pollWaiters.append($0) }
            wake.cancel()
        }
        return ok(.array(pendingUpdates.prefix(limit).map(\.update)))
    }

    func wakePollers() {
        let waiters = pollWaiters
        pollWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private func send(_ params: [String: JSONValue], photo: Bool) -> (Int, JSONValue) {
        guard let chat = params["chat_id"]?.intValue.map(Int64.init) ?? params["chat_id"]?.stringValue.flatMap({ Int64($0) }),
            knownChats.contains(chat)
        else { return error(400, "Bad Request: chat not found") }
        let text = (photo ? params["caption"]?.stringValue : params["text"]?.stringValue) ?? ""
        if !photo, text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return error(400, "Bad Request: message text is empty") }
        if text.count > (photo ? 1024 : 4096) { return error(400, "Bad Request: message is too long") }
        let buttons: [[InlineButton]]
        switch Self.keyboard(params["reply_markup"]) {
        case .success(let parsed): buttons = parsed
        case .failure(let problem): return error(400, "Bad Request: \(problem.reason)")
        }
        let message = BotMessage(messageId: nextMessageId, chatId: chat, text: text, buttons: buttons, photo: photo, time: time.now())
        nextMessageId += 1
        messages.append(message)
        return ok(messageJSON(message))
    }

    /// `sendMediaGroup`: 2–10 photos, one message each; the album's caption is the first one's.
    private func sendAlbum(_ params: [String: JSONValue]) -> (Int, JSONValue) {
        guard let chat = params["chat_id"]?.intValue.map(Int64.init) ?? params["chat_id"]?.stringValue.flatMap({ Int64($0) }),
            knownChats.contains(chat)
        else { return error(400, "Bad Request: chat not found") }
        let media = params["media"]?.arrayValue ?? params["media"]?.stringValue.flatMap { try? JSONValue.parse(Data($0.utf8)) }?.arrayValue ?? []
        guard (2...10).contains(media.count) else { return error(400, "Bad Request: wrong number of media in the album: \(media.count)") }
        var sent: [JSONValue] = []
        for item in media {
            guard item["type"]?.stringValue == "photo", item["media"]?.stringValue != nil else { return error(400, "Bad Request: wrong media in the album") }
            let message = BotMessage(
                messageId: nextMessageId, chatId: chat, text: item["caption"]?.stringValue ?? "", buttons: [], photo: true, time: time.now())
            nextMessageId += 1
            messages.append(message)
            sent.append(messageJSON(message))
        }
        return ok(.array(sent))
    }

    private func edit(_ params: [String: JSONValue], textOnly: Bool) -> (Int, JSONValue) {
        guard let id = params["message_id"]?.intValue, let index = messages.firstIndex(where: { $0.messageId == Int64(id) }) else {
            return error(400, "Bad Request: message to edit not found")
        }
        var message = messages[index]
        let newText = textOnly ? (params["text"]?.stringValue ?? message.text) : message.text
        let newButtons: [[InlineButton]]
        switch Self.keyboard(params["reply_markup"]) {
        case .success(let parsed): newButtons = parsed
        case .failure(let problem): return error(400, "Bad Request: \(problem.reason)")
        }
        if newText == message.text, newButtons == message.buttons {
            return error(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
        }
        message.text = newText
        message.buttons = newButtons
        message.edits += 1
        messages[index] = message
        return ok(messageJSON(message))
    }

    struct KeyboardProblem: Error { let reason: String }

    /// `{"inline_keyboard":[[{"text","callback_data"}]]}`, also when it arrives JSON-encoded in a form field.
    static func keyboard(_ value: JSONValue?) -> Result<[[InlineButton]], KeyboardProblem> {
        guard var markup = value, markup != .null else { return .success([]) }
        if let text = markup.stringValue {
            guard let parsed = try? JSONValue.parse(Data(text.utf8)) else { return .failure(KeyboardProblem(reason: "can't parse reply keyboard markup JSON object")) }
            markup = parsed
        }
        guard let rows = markup["inline_keyboard"]?.arrayValue else { return .success([]) }
        var result: [[InlineButton]] = []
        for row in rows {
            guard let buttons = row.arrayValue else { return .failure(KeyboardProblem(reason: "field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays")) }
            var parsedRow: [InlineButton] = []
            for button in buttons {
                guard let text = button["text"]?.stringValue, !text.isEmpty else { return .failure(KeyboardProblem(reason: "text buttons are unallowed in the inline keyboard")) }
                let data = button["callback_data"]?.stringValue ?? ""
                guard (1...64).contains(data.utf8.count) else { return .failure(KeyboardProblem(reason: "BUTTON_DATA_INVALID")) }
                parsedRow.append(InlineButton(text: text, callbackData: data))
            }
            result.append(parsedRow)
        }
        return .success(result)
    }

    private func messageJSON(_ message: BotMessage) -> JSONValue {
        var json: [String: JSONValue] = [
            "message_id": .int(Int(message.messageId)), "date": .int(Int(message.time.timeIntervalSince1970)),
            "chat": ["id": .int(Int(message.chatId)), "type": "private"],
            "from": ["id": 777_000, "is_bot": true, "first_name": "Aisha"],
        ]
        json[message.photo ? "caption" : "text"] = .string(message.text)
        if !message.buttons.isEmpty {
            json["reply_markup"] = [
                "inline_keyboard": .array(message.buttons.map { row in .array(row.map { ["text": .string($0.text), "callback_data": .string($0.callbackData)] }) })
            ]
        }
        return .object(json)
    }

    private func ok(_ result: JSONValue) -> (Int, JSONValue) { (200, ["ok": true, "result": result]) }

    private func error(_ code: Int, _ description: String, retryAfter: Int? = nil) -> (Int, JSONValue) {
        var body: [String: JSONValue] = ["ok": false, "error_code": .int(code), "description": .string(description)]
        if let retryAfter { body["parameters"] = ["retry_after": .int(retryAfter)] }
        return (code, .object(body))
    }

    private func record(
        _ method: String, _ answer: (Int, JSONValue), chat: Int64? = nil, cause: BotAPICall.Cause = .ran, params: [String: JSONValue] = [:]
    ) -> (Int, JSONValue) {
        var call = BotAPICall(
            time: time.now(), method: method, status: answer.0, description: answer.1["description"]?.stringValue, chatId: chat, cause: cause,
            text: (params["text"] ?? params["caption"])?.stringValue,
            buttons: (try? Self.keyboard(params["reply_markup"]).get())?.flatMap { $0.map(\.text) },
            alert: params["show_alert"].map { $0 == true || $0.stringValue == "true" })
        if method == "editmessagereplymarkup", let id = params["message_id"]?.intValue.map(Int64.init) {
            call.editedText = messages.first { $0.messageId == id && $0.chatId == chat }?.text
        }
        calls.append(call)
        return answer
    }
}
