import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import ScenarioRunner
import SupportKit
import Testing

@Suite("Mock Telegram Bot API on the wire")
struct MockTelegramTests {
    let world = TelegramWorld(token: "1:t", time: .virtual())

    func json(_ response: TestResponse) throws -> JSONValue { try JSONValue.parse(Data(response.body.readableBytesView)) }

    @Test("getMe, wrong token, unknown method; methods are case-insensitive")
    func basics() async throws {
        try await MockTelegramServer.buildApplication(world: world).test(.router) { client in
            #expect(try json(try await client.execute(uri: "/bot1:t/GETME", method: .get))["result"]?["is_bot"] == true)
            let wrong = try await client.execute(uri: "/bot2:x/getMe", method: .get)
            #expect(wrong.status == .unauthorized)
            #expect(try json(wrong)["description"] == "Unauthorized")
            #expect(try await client.execute(uri: "/bot1:t/noSuchMethod", method: .post).status == .notFound)
        }
    }

    @Test("getUpdates with offset; sendMessage validates chat, text and callback_data; form bodies with JSON fields")
    func updatesAndSending() async throws {
        let user = ScenarioUser(id: 55, firstName: "U")
        await world.userSends(from: user, text: "hi")
        try await MockTelegramServer.buildApplication(world: world).test(.router) { client in
            let updates = try json(try await client.execute(uri: "/bot1:t/getUpdates?timeout=0", method: .get))
            let id = try #require(updates["result"]?.arrayValue?.first?["update_id"]?.intValue)
            #expect(updates["result"]?.arrayValue?.first?["message"]?["text"] == "hi")
            let confirmed = try json(try await client.execute(uri: "/bot1:t/getUpdates?offset=\(id + 1)&timeout=0", method: .get))
            #expect(confirmed["result"]?.arrayValue?.isEmpty == true)

            let form = "chat_id=55&text=Hello&reply_markup=" + #"{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let sent = try await client.execute(
                uri: "/bot1:t/sendMessage", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: form))
            #expect(sent.status == .ok)
            #expect(await world.messages(to: 55).first?.labels == ["A"])
            let unknownChat = try await client.execute(
                uri: "/bot1:t/sendMessage", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"chat_id":9,"text":"x"}"#))
            #expect(try json(unknownChat)["description"] == "Bad Request: chat not found")
            let longData = String(repeating: "x", count: 65)
            let badButton = try await client.execute(
                uri: "/bot1:t/sendMessage", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"chat_id":55,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"B","callback_data":"\#(longData)"}]]}}"#))
            #expect(try json(badButton)["description"] == "Bad Request: BUTTON_DATA_INVALID")
            let empty = try await client.execute(
                uri: "/bot1:t/sendMessage", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"chat_id":55,"text":""}"#))
            #expect(empty.status == .badRequest)
        }
    }

    @Test("found by Fuzz/bot-api-body: a form body with a bad % escape is read as written, not a crash (URLComponents traps)")
    func malformedFormBody() {
        let fields = BotAPIBody.parameters(Data("chat_id=42&text=50%+off%zz&caption=a+b%20c&flag".utf8), contentType: "application/x-www-form-urlencoded")
        #expect(fields == ["chat_id": 42, "text": "50% off%zz", "caption": "a b c", "flag": ""])
    }

    @Test("a multipart body: text fields as sent (a line break inside a value kept), file parts skipped whatever bytes they hold")
    func multipartBody() {
        var body = Data("--XB\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n".utf8)
        body += Data("--XB\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nдва\r\nстроки\r\n".utf8)
        body += Data("--XB\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\r\n".utf8)
        body += Data([0x89, 0x50, 0xFF, 0xFE, 0x0D, 0x0A, 0x0D, 0x0A, 0x00]) + Data("\r\n--XB--\r\n".utf8)
        #expect(BotAPIBody.multipart(body, boundary: "XB").map { "\($0.0)=\($0.1)" } == ["chat_id=42", "caption=два\r\nстроки"])
        #expect(BotAPIBody.parameters(body, contentType: "multipart/form-data; boundary=\"XB\"") == ["chat_id": 42, "caption": "два\r\nстроки"])
    }

    @Test("injected 429 carries retry_after and holds until it passed; blocked chats get 403; identical edits get 'not modified'")
    func faults() async throws {
        let clock = VirtualClock()
        let world = TelegramWorld(token: "1:t", time: .virtual(clock))
        let user = ScenarioUser(id: 56, firstName: "V")
        await world.userSends(from: user, text: "hi")
        await world.inject(TelegramFault(method: "sendMessage", code: 429, description: "Too Many Requests: retry after 7", retryAfter: 7))
        try await MockTelegramServer.buildApplication(world: world).test(.router) { client in
            let body = ByteBuffer(string: #"{"chat_id":56,"text":"x"}"#)
            let limited = try json(try await client.execute(uri: "/bot1:t/sendMessage", method: .post, headers: [.contentType: "application/json"], body: body))
            #expect(limited["parameters"]?["retry_after"] == 7)
            let early = try await client.execute(uri: "/bot1:t/sendMessage", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(early.status == .tooManyRequests, "a retry before retry_after gets 429 again, as on Telegram")
            await clock.advance(by: .seconds(7))
            let sent = try json(try await client.execute(uri: "/bot1:t/sendMessage", method: .post, headers: [.contentType: "application/json"], body: body))
            let messageId = try #require(sent["result"]?["message_id"]?.intValue)
            let edit = ByteBuffer(string: #"{"chat_id":56,"message_id":\#(messageId),"text":"x"}"#)
            let notModified = try json(try await client.execute(uri: "/bot1:t/editMessageText", method: .post, headers: [.contentType: "application/json"], body: edit))
            #expect(notModified["description"]?.stringValue?.hasPrefix("Bad Request: message is not modified") == true)
            await world.block(chat: 56)
            let blocked = try await client.execute(uri: "/bot1:t/sendMessage", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(blocked.status == .forbidden)
        }
    }

    @Test("getFile and file download; files over 20 MB are 'too big'")
    func files() async throws {
        let small = await world.addFile(Data("png".utf8), name: "a.png")
        let large = await world.addFile(Data(count: 21 * 1024 * 1024), name: "b.png")
        try await MockTelegramServer.buildApplication(world: world).test(.router) { client in
            let file = try json(try await client.execute(uri: "/bot1:t/getFile?file_id=\(small)", method: .get))
            let path = try #require(file["result"]?["file_path"]?.stringValue)
            let download = try await client.execute(uri: "/file/bot1:t/\(path)", method: .get)
            #expect(String(buffer: download.body) == "png")
            let big = try json(try await client.execute(uri: "/bot1:t/getFile?file_id=\(large)", method: .get))
            #expect(big["description"] == "Bad Request: file is too big")
        }
    }
}

@Suite("Mock Telegram fidelity: the flood wait")
struct FloodWaitTests {
    @Test("after a 429 with retry_after 3, a retry within 3 s gets 429 again (cause flood_wait); after it, the send goes through")
    func floodWait() async throws {
        let clock = VirtualClock()
        let world = TelegramWorld(token: "1:t", time: .virtual(clock))
        await world.userSends(from: ScenarioUser(id: 7, firstName: "U"), text: "/start")
        await world.inject(TelegramFault(method: "sendMessage", code: 429, description: "Too Many Requests: retry after 3", retryAfter: 3))
        let send: [String: JSONValue] = ["chat_id": 7, "text": "hello"]
        #expect(await world.call(token: "1:t", method: "sendMessage", send).0 == 429)
        await clock.advance(by: .seconds(2))
        let early = await world.call(token: "1:t", method: "sendMessage", send)
        #expect(early.0 == 429)
        #expect(early.1["parameters"]?["retry_after"] == 1)
        await clock.advance(by: .seconds(1))
        #expect(await world.call(token: "1:t", method: "sendMessage", send).0 == 200)
        #expect(await world.calls.map(\.cause) == [.fault, .floodWait, .ran])
        #expect(await world.calls.allSatisfy { $0.chatId == 7 && $0.text == "hello" })
    }
}
