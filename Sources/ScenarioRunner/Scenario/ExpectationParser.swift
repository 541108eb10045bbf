import Foundation
import MockFAL
import SupportKit
import Yams

/// Parses the `expect_*` steps.
enum ExpectationParser {
    static let avatarKeys = [
        "status", "type", "finetune_id", "lora", "error", "trigger_word", "attempt", "name", "gender", "preset", "photos", "count",
    ]
    static let jobKeys = ["status", "app", "image_count", "step", "total_steps", "error_type"]

    static func action(_ key: String, _ node: Node, _ r: YAMLReader) throws -> StepAction {
        switch key {
        case "expect_message":
            if node.scalar != nil { return .expectMessage(MessageExpectation(contains: try r.string(node, key)), user: nil) }
            let map = try r.mapping(node, key, allowed: ["contains", "equals", "regex", "buttons", "edited", "user", "timeout"])
            var expectation = MessageExpectation()
            expectation.edited = try map["edited"].map { try r.bool($0, "edited") } ?? false
            expectation.contains = try map["contains"].map { try r.string($0, "contains") }
            expectation.equals = try map["equals"].map { try r.string($0, "equals") }
            expectation.regex = try map["regex"].map { try r.string($0, "regex") }
            if let regex = expectation.regex, (try? Regex(regex)) == nil { throw r.fail(map["regex"], "regex does not compile: \(regex)") }
            expectation.buttons = try map["buttons"].map { try r.strings($0, "buttons") }
            if let value = map["timeout"] { expectation.timeout = try r.duration(value, "timeout") }
            return .expectMessage(expectation, user: try map["user"].map { Int64(try r.int($0, "user")) })
        case "expect_no_message":
            if node.scalar != nil, node.bool == nil { return .expectNoMessage(contains: try r.string(node, key), user: nil) }
            if node.bool != nil { return .expectNoMessage(contains: nil, user: nil) }
            let map = try r.mapping(node, key, allowed: ["contains", "user"])
            return .expectNoMessage(contains: try map["contains"].map { try r.string($0, "contains") }, user: try map["user"].map { Int64(try r.int($0, "user")) })
        case "expect_fal_submit":
            let map = try r.mapping(node, key, allowed: ["app", "input", "absent", "webhook_query", "verdict", "index"])
            var expectation = SubmitExpectation()
            expectation.app = try map["app"].map { try r.string($0, "app") }
            if let input = map["input"] {
                guard let object = r.json(input).objectValue else { throw r.fail(input, "input must be a mapping of field: value") }
                expectation.input = object
            }
            expectation.absent = try map["absent"].map { try r.strings($0, "absent") } ?? []
            if let query = map["webhook_query"] {
                let object = r.json(query).objectValue ?? [:]
                expectation.webhookQuery = object.mapValues { $0.stringValue ?? "\($0)" }
            }
            expectation.verdict = try map["verdict"].map { try r.choice($0, "verdict", Verdict.self) }
            expectation.index = try map["index"].map { try r.int($0, "index") } ?? -1
            return .expectFALSubmit(expectation)
        case "expect_fal_calls":
            let map = try r.mapping(node, key, allowed: ["app", "kind", "count", "status"], required: ["count"])
            return .expectFALCalls(
                app: try map["app"].map { try r.string($0, "app") }, kind: try map["kind"].map { try r.choice($0, "kind", CallKind.self) } ?? .submit,
                count: try r.int(map["count"]!, "count", range: 0...10_000), status: try map["status"].map { try r.int($0, "status", range: 100...599) })
        case "expect_avatar":
            let map = try r.mapping(node, key, allowed: avatarKeys + ["user", "timeout"])
            var expectation = AvatarExpectation()
            for name in avatarKeys { if let value = map[name] { expectation.fields[name] = r.json(value) } }
            if let value = map["timeout"] { expectation.timeout = try r.duration(value, "timeout") }
            return .expectAvatar(expectation, user: try map["user"].map { Int64(try r.int($0, "user")) })
        case "expect_log":
            if node.scalar != nil { return .expectLog(contains: try r.string(node, key), absent: false) }
            let map = try r.mapping(node, key, allowed: ["contains", "absent"], required: ["contains"])
            return .expectLog(contains: try r.string(map["contains"]!, "contains"), absent: try map["absent"].map { try r.bool($0, "absent") } ?? false)
        case "expect_webhook":
            let map = try r.mapping(node, key, allowed: ["delivered", "attempts", "signature_ok"])
            return .expectWebhook(
                delivered: try map["delivered"].map { try r.int($0, "delivered") }, attempts: try map["attempts"].map { try r.int($0, "attempts") },
                signatureOK: try map["signature_ok"].map { try r.bool($0, "signature_ok") })
        case "expect_credits":
            let map = try r.mapping(node, key, allowed: ["balance", "ledger", "user"])
            return .expectCredits(
                balance: try map["balance"].map { try r.int($0, "balance") }, ledger: try map["ledger"].map { try r.strings($0, "ledger") },
                user: try map["user"].map { Int64(try r.int($0, "user")) })
        case "expect_telegram_call":
            let map = try r.mapping(node, key, allowed: ["method", "status", "count"], required: ["method"])
            return .expectTelegramCall(
                method: try r.string(map["method"]!, "method").lowercased(), status: try map["status"].map { try r.int($0, "status") },
                count: try map["count"].map { try r.int($0, "count") })
        case "expect_toast":
            let map = try r.mapping(node, key, allowed: ["contains", "alert", "user"])
            return .expectToast(
                contains: try map["contains"].map { try r.string($0, "contains") }, alert: try map["alert"].map { try r.bool($0, "alert") },
                user: try map["user"].map { Int64(try r.int($0, "user")) })
        case "expect_fal_job":
            let map = try r.mapping(node, key, allowed: jobKeys + ["index"])
            var fields: [String: JSONValue] = [:]
            for name in jobKeys { if let value = map[name] { fields[name] = r.json(value) } }
            return .expectFALJob(fields: fields, index: try map["index"].map { try r.int($0, "index") } ?? -1)
        default:
            throw r.fail(node, "unknown step '\(key)'")
        }
    }
}
