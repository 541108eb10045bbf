import Foundation
import MockFAL
import SupportKit
import Yams

/// Parses one step: a mapping with exactly one action key.
enum StepParser {
    static let actions = [
        "send", "tap", "callback", "photos", "advance", "settle", "restart", "second_instance", "fal_fault", "telegram_fault", "block_bot", "post_webhook",
        "expect_message", "expect_no_message", "expect_fal_submit", "expect_fal_calls", "expect_avatar", "expect_log",
        "expect_webhook", "expect_credits", "expect_telegram_call", "expect_toast", "expect_fal_job",
    ]

    static func step(_ node: Node, _ r: YAMLReader) throws -> Step {
        guard let mapping = node.mapping, mapping.count == 1, let (keyNode, value) = mapping.first, let key = keyNode.string else {
            throw r.fail(node, "a step is one action, e.g. '- send: /start'; actions: \(actions.joined(separator: ", "))")
        }
        guard actions.contains(key) else {
            throw r.fail(keyNode, "unknown step '\(key)'; actions: \(actions.joined(separator: ", "))")
        }
        let summary = "\(key): \(r.json(value))"
        return Step(line: keyNode.mark?.line ?? 1, action: try action(key, value, r), summary: summary)
    }

    private static func user(_ map: [String: Node], _ r: YAMLReader) throws -> Int64? {
        try map["user"].map { Int64(try r.int($0, "user")) }
    }

    /// A bare value, or a mapping with `key` holding it plus `user` (and `background` where allowed).
    private static func textAndUser(
        _ node: Node, _ r: YAMLReader, key: String, context: String, allowBackground: Bool = false
    ) throws -> (String, Int64?, Bool) {
        if node.scalar != nil { return (try r.string(node, context), nil, false) }
        let map = try r.mapping(node, context, allowed: [key, "user"] + (allowBackground ? ["background"] : []), required: [key])
        return (try r.string(map[key]!, context), try user(map, r), try map["background"].map { try r.bool($0, "background") } ?? false)
    }

    private static func action(_ key: String, _ node: Node, _ r: YAMLReader) throws -> StepAction {
        switch key {
        case "send":
            let (text, user, background) = try textAndUser(node, r, key: "text", context: "send", allowBackground: true)
            return .send(text, user: user, background: background)
        case "tap":
            if node.scalar != nil { return .tap(try r.string(node, "tap"), user: nil, background: false) }
            let map = try r.mapping(node, "tap", allowed: ["label", "user", "background", "message"], required: ["label"])
            var choice = MessageChoice.latest
            if let which = map["message"] {
                if let index = which.int {
                    guard index >= 1 else { throw r.fail(which, "tap message: a count from the end starts at 1 (the latest message)") }
                    choice = .fromEnd(index)
                } else {
                    choice = .containing(try r.string(which, "message"))
                }
            }
            return .tap(
                try r.string(map["label"]!, "tap label"), user: try user(map, r), background: try map["background"].map { try r.bool($0, "background") } ?? false,
                on: choice)
        case "callback":
            let (data, user, _) = try textAndUser(node, r, key: "data", context: "callback")
            return .callback(data, user: user)
        case "photos":
            return try photos(node, r)
        case "advance":
            return .advance(try r.duration(node, "advance"))
        case "settle":
            return .settle(atMost: try r.duration(node, "settle"))
        case "restart":
            return .restart
        case "second_instance":
            return .secondInstance
        case "fal_fault":
            return .falFault(try faultRule(node, r))
        case "telegram_fault":
            let map = try r.mapping(node, "telegram_fault", allowed: ["method", "code", "description", "retry_after", "times", "text_contains"], required: ["method", "code"])
            let code = try r.int(map["code"]!, "code", range: 400...599)
            let defaultText = [429: "Too Many Requests: retry after 3", 403: "Forbidden: bot was blocked by the user", 401: "Unauthorized"][code]
                ?? "Bad Request: message is not modified: specified new message content and reply markup are exactly the same"
            return .telegramFault(
                TelegramFault(
                    method: try r.string(map["method"]!, "method"), code: code,
                    description: try map["description"].map { try r.string($0, "description") } ?? defaultText,
                    retryAfter: try map["retry_after"].map { try r.int($0, "retry_after", range: 1...3600) } ?? (code == 429 ? 3 : nil),
                    times: try map["times"].map { try r.int($0, "times", range: 1...1000) } ?? 1,
                    textContains: try map["text_contains"].map { try r.string($0, "text_contains") }))
        case "block_bot":
            if node.scalar != nil { return .blockBot(user: nil) }
            let map = try r.mapping(node, "block_bot", allowed: ["user"])
            return .blockBot(user: try user(map, r))
        case "post_webhook":
            let map = try r.mapping(node, "post_webhook", allowed: ["body", "signed", "expect_status"], required: ["body"])
            return .postWebhook(
                body: r.json(map["body"]!), signed: try map["signed"].map { try r.bool($0, "signed") } ?? true,
                expectStatus: try map["expect_status"].map { try r.int($0, "expect_status", range: 100...599) })
        default:
            return try ExpectationParser.action(key, node, r)
        }
    }

    private static func photos(_ node: Node, _ r: YAMLReader) throws -> StepAction {
        let map = try r.mapping(node, "photos", allowed: ["count", "size", "format", "kind", "album", "as_document", "file_name", "user"])
        var spec = PhotoSpec()
        if let value = map["count"] { spec.count = try r.int(value, "count", range: 1...50) }
        if let value = map["size"] {
            let parts = try r.string(value, "size").lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ (1...20_000).contains($0) }) else { throw r.fail(value, "size must look like 1024x1024") }
            (spec.width, spec.height) = (parts[0], parts[1])
        }
        if let value = map["kind"] { spec.kind = try r.choice(value, "photo kind", PhotoSpec.Kind.self) }
        if let value = map["format"] { spec.format = try r.choice(value, "photo format", ImageFormat.self) }
        if let value = map["album"] { spec.album = try r.bool(value, "album") }
        if let value = map["as_document"] { spec.asDocument = try r.bool(value, "as_document") }
        if let value = map["file_name"] { spec.fileName = try r.string(value, "file_name") }
        return .photos(spec, user: try user(map, r))
    }

    static let faultKeys = [
        "fail_at_step", "fail_message", "archive_fetch_failure", "submit_status", "retry_after_seconds", "webhook", "webhook_copies",
        "webhook_delay_seconds", "response_delay_seconds", "queue_seconds",
        "nsfw_images",
    ]

    static func faultRule(_ node: Node, _ r: YAMLReader) throws -> FaultRule {
        let map = try r.mapping(node, "fault rule", allowed: ["app", "request_id", "times", "probability", "fault"], required: ["fault"])
        let faultNode = map["fault"]!
        _ = try r.mapping(faultNode, "fault", allowed: faultKeys)
        if let webhook = faultNode.mapping?["webhook"] { _ = try r.choice(webhook, "webhook fault", WebhookFault.self) }
        let ruleJSON = r.json(node)
        do {
            return try ruleJSON.decode(FaultRule.self)
        } catch {
            throw r.fail(node, "invalid fault rule: \(error)")
        }
    }
}
