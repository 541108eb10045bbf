import Foundation
import Hummingbird
import SupportKit

/// `/_mock/…` on the standalone mock Telegram: play the user by hand (curl) against a running `aisha serve`.
enum MockTelegramControl {
    struct Act: Decodable {
        var userId: Int64
        var firstName: String?
        var text: String?
        var label: String?
        var count: Int?
        var width: Int?
        var height: Int?
        var format: String?

        enum CodingKeys: String, CodingKey {
            case userId = "user_id", firstName = "first_name", text, label, count, width, height, format
        }

        var user: ScenarioUser { ScenarioUser(id: userId, firstName: firstName ?? "User\(userId)") }
    }

    static func add<Context: RequestContext>(to router: Router<Context>, world: TelegramWorld) {
        let mock = router.group("_mock")
        mock.post("send") { request, context in
            let act = try await request.decode(as: Act.self, context: context)
            guard let text = act.text else { throw HTTPError(.badRequest, message: "give \"text\"") }
            return Answer(status: await world.userSends(from: act.user, text: text), detail: nil)
        }
        mock.post("tap") { request, context in
            let act = try await request.decode(as: Act.self, context: context)
            switch await world.userTaps(from: act.user, label: act.label ?? "") {
            case .success(let (_, status)): return Answer(status: status, detail: nil)
            case .failure(let failure): throw HTTPError(.badRequest, message: failure.description)
            }
        }
        mock.post("photos") { request, context in
            let act = try await request.decode(as: Act.self, context: context)
            guard let format = ImageFormat(rawValue: act.format ?? "png") else { throw HTTPError(.badRequest, message: "format: png or jpeg") }
            let statuses = await world.userSendsPhotos(
                from: act.user, count: min(max(act.count ?? 1, 1), 30), width: act.width ?? 1024, height: act.height ?? 1024,
                format: format, seed: UInt64(Date().timeIntervalSince1970 * 1000))
            return Answer(status: statuses.last ?? 0, detail: "\(statuses.count) photo(s)")
        }
        mock.get("messages") { request, _ in
            let chat = request.uri.queryParameters["chat"].flatMap { Int64($0) }
            let messages = await world.messages.filter { chat == nil || $0.chatId == chat }
            return Messages(messages: messages.map { Messages.Item(chat_id: $0.chatId, text: $0.text, buttons: $0.labels) })
        }
    }

    struct Answer: ResponseEncodable {
        /// The bot's HTTP answer to the delivered update (200 when queued for getUpdates).
        var status: Int
        var detail: String?
    }

    struct Messages: ResponseEncodable {
        struct Item: Codable {
            var chat_id: Int64
            var text: String
            var buttons: [String]
        }
        var messages: [Item]
    }
}
