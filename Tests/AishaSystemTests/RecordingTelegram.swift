import AishaSystem
import Foundation
import SupportKit

/// Telegram in memory: records what the bot sends and serves the files users "sent". Requests to other hosts
/// (MockFAL, the archive route, the JWKS) go over loopback for real.
actor RecordingTelegram {
    static let base = "http://telegram.test"
    struct Sent: Sendable {
        /// Telegram's message_id (its place among everything sent, from 1).
        var id: Int64 = 0
        var chatId: Int64
        var text: String
        var buttons: [[String: String]]
        var edits = 0
        var deleted = false
    }

    private(set) var sent: [Sent] = []
    /// Taps answered with a text: (text, alert).
    private(set) var toasts: [(text: String, alert: Bool)] = []
    /// Every Bot API method called, with the status it was answered.
    private(set) var calls: [(method: String, status: Int)] = []
    private var files: [String: Data] = [:]
    /// Error answers (`error_code`, description, retry_after) for the next calls of a method.
    private var faults: [String: [(Int, String, Int?)]] = [:]

    func addFile(_ data: Data) -> String {
        let id = "file-\(files.count + 1)"
        files[id] = data
        return id
    }

    func failNext(_ method: String, code: Int, description: String, retryAfter: Int? = nil) {
        faults[method, default: []].append((code, description, retryAfter))
    }

    func messages(to chat: Int64) -> [Sent] { sent.filter { $0.chatId == chat && !$0.deleted } }

    func handle(_ request: OutgoingRequest) -> IncomingResponse {
        let response = answer(request)
        if let method = request.url.split(separator: "/").last, !request.url.contains("/file/") { calls.append((String(method), response.status)) }
        return response
    }

    private func answer(_ request: OutgoingRequest) -> IncomingResponse {
        let path = String(request.url.dropFirst(Self.base.count))
        if path.hasPrefix("/file/") {
            let id = String(path.split(separator: "/").last ?? "")
            guard let data = files[id] else { return IncomingResponse(status: 404) }
            return IncomingResponse(status: 200, body: data)
        }
        let method = String(path.split(separator: "/").last ?? "")
        let body = request.body.flatMap { try? JSONValue.parse($0) } ?? [:]
        if var queued = faults[method], !queued.isEmpty {
            let (code, description, retryAfter) = queued.removeFirst()
            faults[method] = queued
            var answer: JSONValue = ["ok": false, "error_code": .int(code), "description": .string(description)]
            if let retryAfter, case .object(var object) = answer {
                object["parameters"] = ["retry_after": .int(retryAfter)]
                answer = .object(object)
            }
            return reply(answer, status: code)
        }
        let buttons = body["reply_markup"]?["inline_keyboard"]?.arrayValue?.flatMap { $0.arrayValue ?? [] }.map {
            ["text": $0["text"]?.stringValue ?? "", "callback_data": $0["callback_data"]?.stringValue ?? ""]
        } ?? []
        let target = (body["message_id"]?.intValue).flatMap { sent.indices.contains($0 - 1) ? $0 - 1 : nil }
        switch method {
        case "editMessageText", "editMessageReplyMarkup", "deleteMessage":
            guard let index = target else { return reply(["ok": false, "error_code": 400, "description": "Bad Request: message to edit not found"], status: 400) }
            if method == "deleteMessage" {
                sent[index].deleted = true
            } else {
                if let text = body["text"]?.stringValue { sent[index].text = text }
                sent[index].buttons = buttons
                sent[index].edits += 1
            }
            return reply(["ok": true, "result": true])
        case "sendMessage":
            sent.append(Sent(id: Int64(sent.count + 1), chatId: Int64(body["chat_id"]?.intValue ?? 0), text: body["text"]?.stringValue ?? "", buttons: buttons))
            return reply(["ok": true, "result": ["message_id": .int(sent.count)]])
        case "answerCallbackQuery":
            if let text = body["text"]?.stringValue { toasts.append((text, body["show_alert"] == true)) }
            return reply(["ok": true, "result": true])
        case "getFile":
            let id = body["file_id"]?.stringValue ?? ""
            guard let data = files[id] else { return reply(["ok": false, "error_code": 400, "description": "Bad Request: invalid file_id"], status: 400) }
            return reply(["ok": true, "result": ["file_id": .string(id), "file_size": .int(data.count), "file_path": .string("photos/\(id)")]])
        default:
            return reply(["ok": true, "result": true])
        }
    }

    private func reply(_ json: JSONValue, status: Int = 200) -> IncomingResponse {
        IncomingResponse(status: status, body: (try? json.jsonData()) ?? Data())
    }
}

/// Sends Telegram calls to the recorder and everything else over loopback.
struct RoutingTransport: HTTPTransport {
    let telegram: RecordingTelegram
    /// Requests that reach their peer but whose answer is lost (a timeout after sending).
    var losesAnswer: @Sendable (OutgoingRequest) -> Bool = { _ in false }
    let live = AsyncHTTPClientTransport()

    func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        if request.url.hasPrefix(RecordingTelegram.base) { return await telegram.handle(request) }
        let response = try await live.send(request)
        if losesAnswer(request) { throw HTTPTransportError.timedOut }
        return response
    }
}
