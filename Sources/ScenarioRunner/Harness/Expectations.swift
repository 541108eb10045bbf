import AishaSystem
import Foundation
import MockFAL
import SupportKit

/// Checks the `expect_*` steps; a mismatch throws a `StepFailure` with a field-level diff.
struct Expectations {
    let executor: StepExecutor
    var env: ScenarioEnvironment { executor.env }

    func check(_ action: StepAction) async throws {
        switch action {
        case .expectMessage(let expectation, let id):
            try await message(expectation, user: try executor.user(id))
        case .expectNoMessage(let contains, let id):
            try await noMessage(contains, user: try executor.user(id))
        case .expectFALSubmit(let expectation):
            try await submit(expectation)
        case .expectFALCalls(let app, let kind, let count, let status):
            await executor.settle()
            var actual = 0
            _ = await eventually {
                actual = await env.fal.journalEntries().filter { $0.kind == kind && (app == nil || $0.appId == app) && (status == nil || $0.httpStatus == status) }.count
                return actual >= count
            }
            guard actual == count else {
                throw StepFailure(
                    message: "expected \(count) FAL \(kind.rawValue) call(s)\(app.map { " to \($0)" } ?? "")\(status.map { " answered \($0)" } ?? ""), actual \(actual)",
                    diff: await falCalls())
            }
        case .expectAvatar(let expectation, let id):
            try await avatar(expectation, user: try executor.user(id))
        case .expectLog(let text, let absent):
            await executor.settle()
            let found = absent ? env.logs.all.contains { $0.contains(text) } : await eventually { env.logs.all.contains { $0.contains(text) } }
            if found == absent {
                throw StepFailure(
                    message: absent ? "log line containing '\(text)' was written" : "no log line contains '\(text)'",
                    diff: env.logs.all.suffix(8).map { "log: \($0)" })
            }
        case .expectWebhook(let delivered, let attempts, let signatureOK):
            await executor.settle()
            let job = await env.falJobs.snapshots().last
            let all = job?.webhookAttempts ?? []
            let actualDelivered = all.filter { $0.outcome == .delivered }.count
            let actualAttempts = all.filter { $0.outcome == .delivered || $0.outcome == .failed }.count
            var diff: [String] = []
            if let delivered, delivered != actualDelivered { diff.append("delivered: expected \(delivered), actual \(actualDelivered)") }
            if let attempts, attempts != actualAttempts { diff.append("attempts: expected \(attempts), actual \(actualAttempts)") }
            if let signatureOK {
                // AishaSystem verifies every webhook against MockFAL's JWKS unless the scenario turned that off:
                // a 2xx answer then means the signature checked out, a 401 that it did not.
                let verified = env.scenario.config.webhookVerify && actualDelivered > 0 && !all.contains { $0.httpStatus == 401 }
                if verified != signatureOK { diff.append("signature_ok: expected \(signatureOK), actual \(verified)") }
            }
            guard diff.isEmpty else { throw StepFailure(message: "webhook deliveries differ", diff: diff + all.map { "attempt: \($0.outcome.rawValue) \($0.httpStatus.map(String.init) ?? "")" }) }
        case .expectCredits(let balance, let ledger, let id):
            let user = try executor.user(id)
            let actualBalance = try await env.store.user(id: user.id)?.balance
            let actualLedger = try await env.store.ledger(userId: user.id).map(\.kind.rawValue)
            var diff: [String] = []
            if let balance, balance != actualBalance { diff.append("balance: expected \(balance), actual \(actualBalance.map(String.init) ?? "absent")") }
            if let ledger, ledger != actualLedger { diff.append("ledger: expected \(ledger), actual \(actualLedger)") }
            guard diff.isEmpty else { throw StepFailure(message: "credits differ", diff: diff) }
        case .expectTelegramCall(let method, let status, let count):
            await executor.settle()
            var calls: [BotAPICall] = []
            _ = await eventually {
                calls = await env.world.calls.filter { $0.method == method && (status == nil || $0.status == status) }
                return count.map { calls.count >= $0 } ?? !calls.isEmpty
            }
            if let count, calls.count != count {
                throw StepFailure(message: "expected \(count) \(method) call(s)\(status.map { " answered \($0)" } ?? ""), actual \(calls.count)")
            }
            if count == nil, calls.isEmpty { throw StepFailure(message: "no \(method) call\(status.map { " answered \($0)" } ?? "")") }
        case .expectToast(let contains, let alert, let id):
            let user = try executor.user(id)
            guard let answer = await env.world.calls.last(where: { $0.method == "answercallbackquery" && $0.chatId == user.id }) else {
                throw StepFailure(message: "no tap of \(user.firstName)'s was answered")
            }
            var diff: [String] = []
            if let contains, (answer.text ?? "").contains(contains) == false {
                diff.append("text: expected to contain '\(contains)', actual \(answer.text.map { "'\($0)'" } ?? "none (a silent answer)")")
            }
            if let alert, (answer.alert ?? false) != alert { diff.append("alert: expected \(alert), actual \(answer.alert ?? false)") }
            guard diff.isEmpty else { throw StepFailure(message: "the answer to \(user.firstName)'s latest tap differs", diff: diff) }
        case .expectFALJob(let fields, let index):
            await executor.settle()
            let jobs = await env.falJobs.snapshots()
            let position = index < 0 ? jobs.count + index : index - 1
            guard jobs.indices.contains(position) else {
                // The real story is often a submit FAL refused: name them with their detail.
                let refused = await env.fal.journalEntries().filter { $0.kind == .submit && $0.httpStatus >= 400 }.map { entry in
                    "refused submit: \(entry.method) \(entry.path) → \(entry.httpStatus) \((entry.problems ?? []).map { "\($0.field): \($0.msg)" }.joined(separator: "; "))"
                }
                throw StepFailure(message: "no MockFAL job #\(index); there are \(jobs.count)", diff: refused)
            }
            let job = jobs[position]
            let actual: [String: JSONValue] = [
                "status": .string(job.status), "app": .string(job.appId), "image_count": job.imageCount.map { .int($0) } ?? .null,
                "step": .int(job.step), "total_steps": .int(job.totalSteps), "error_type": job.errorType.map { .string($0) } ?? .null,
            ]
            let diff = Matching.diff(fields, actual)
            guard diff.isEmpty else { throw StepFailure(message: "MockFAL job \(job.requestId.prefix(8)) differs", diff: diff + (job.error.map { ["error: \($0)"] } ?? [])) }
        case .send, .tap, .callback, .photos, .advance, .settle, .restart, .secondInstance, .falFault, .telegramFault, .blockBot, .postWebhook:
            throw StepFailure(message: "not an expectation")
        }
    }

    private func message(_ expectation: MessageExpectation, user: ScenarioUser) async throws {
        // An edit changes a message already on screen: any of the chat's messages, the latest that matches.
        let cursor = executor.cursors[user.id] ?? 0
        let start = expectation.edited ? 0 : cursor
        var matchedIndex: Int?
        _ = await eventually(timeout: env.patience(expectation.timeout)) {
            let messages = await env.world.messages(to: user.id)
            let candidates = messages.indices.dropFirst(start)
            matchedIndex = expectation.edited ? candidates.last { matches(messages[$0], expectation) } : candidates.first { matches(messages[$0], expectation) }
            return matchedIndex != nil
        }
        let messages = await env.world.messages(to: user.id)
        guard let index = matchedIndex else {
            var expected: [String] = []
            if let text = expectation.contains { expected.append("contains '\(text)'") }
            if let text = expectation.equals { expected.append("equals '\(text)'") }
            if let text = expectation.regex { expected.append("matches /\(text)/") }
            if let buttons = expectation.buttons { expected.append("buttons \(buttons)") }
            if expectation.edited { expected.append("was edited") }
            let unseen = messages.dropFirst(start).map {
                "actual: \($0.text.replacingOccurrences(of: "\n", with: " ⏎ "))\($0.buttons.isEmpty ? "" : " \($0.labels)")\($0.edits > 0 ? " (edited ×\($0.edits))" : "")"
            }
            throw StepFailure(
                message: "no \(expectation.edited ? "edited" : "new") message to \(user.firstName) that \(expected.joined(separator: " and "))",
                diff: unseen.isEmpty ? ["actual: no new message since the previous expectation"] : unseen)
        }
        executor.cursors[user.id] = max(cursor, index + 1)
    }

    private func matches(_ message: BotMessage, _ expectation: MessageExpectation) -> Bool {
        if expectation.edited, message.edits == 0 { return false }
        if let text = expectation.contains, !message.text.contains(text) { return false }
        if let text = expectation.equals, message.text != text { return false }
        if let pattern = expectation.regex, let regex = try? Regex(pattern), message.text.firstMatch(of: regex) == nil { return false }
        if let buttons = expectation.buttons {
            // `buttons: []`: none left.
            if buttons.isEmpty ? !message.labels.isEmpty : !buttons.allSatisfy({ label in message.labels.contains { $0.contains(label) } }) { return false }
        }
        return true
    }

    private func noMessage(_ contains: String?, user: ScenarioUser) async throws {
        await executor.settle()
        try await env.drainNotifications()
        let start = executor.cursors[user.id] ?? 0
        let unexpected = await env.world.messages(to: user.id).dropFirst(start).filter { contains == nil || $0.text.contains(contains!) }
        guard unexpected.isEmpty else {
            throw StepFailure(message: "expected no new message\(contains.map { " containing '\($0)'" } ?? "")", diff: unexpected.map { "actual: \($0.text)" })
        }
    }

    private func submit(_ expectation: SubmitExpectation) async throws {
        await executor.settle()
        let submits = await env.fal.journalEntries().filter { $0.kind == .submit && (expectation.app == nil || $0.appId == expectation.app) }
        let index = expectation.index < 0 ? submits.count + expectation.index : expectation.index - 1
        guard submits.indices.contains(index) else {
            throw StepFailure(
                message: "no FAL submit\(expectation.app.map { " to \($0)" } ?? "") #\(expectation.index)", diff: await falCalls())
        }
        let entry = submits[index]
        var diff: [String] = []
        if let verdict = expectation.verdict, entry.verdict != verdict {
            diff.append("verdict: expected \(verdict.rawValue), actual \(entry.verdict?.rawValue ?? "none") \((entry.problems ?? []).map { "\($0.field): \($0.msg)" })")
        }
        let input = entry.input?.objectValue ?? [:]
        let expectedInput = try await expectation.input.mapValuesAsync { value in
            // Placeholders anywhere in the value (a LoRA path inside `loras`, too).
            let text = String(decoding: try value.jsonData(), as: UTF8.self)
            guard text.contains("{trigger_word}") || text.contains("{finetune_id}") || text.contains("{lora_url}") || text.contains("{avatar_id}")
                || text.contains("{request_id}")
            else { return value }
            return (try? JSONValue.parse(Data(try await executor.substitute(text).utf8))) ?? value
        }
        diff += Matching.diff(expectedInput, input, prefix: "input.")
        for field in expectation.absent where input[field] != nil {
            diff.append("input.\(field): expected absent, actual \(Matching.render(input[field]))")
        }
        let query = URLComponents(string: entry.webhookURL ?? "")?.queryItems ?? []
        for (key, value) in expectation.webhookQuery.sorted(by: { $0.key < $1.key }) {
            let actual = query.first { $0.name == key }?.value
            if actual != value { diff.append("webhook_query.\(key): expected \(value), actual \(actual ?? "absent")") }
        }
        guard diff.isEmpty else {
            throw StepFailure(message: "FAL submit to \(entry.appId ?? "?") differs (HTTP \(entry.httpStatus))", diff: diff)
        }
    }

    private func avatar(_ expectation: AvatarExpectation, user: ScenarioUser) async throws {
        var diff: [String] = ["no avatar"]
        _ = try await eventually(timeout: env.patience(expectation.timeout)) {
            let avatars = try await env.store.avatars(ownerId: user.id)
            guard let avatar = avatars.last else { return false }
            let photos = try await env.store.photos(avatarId: avatar.id).count
            var actual = Self.fields(avatar, photos: photos)
            actual["count"] = .int(avatars.count)
            diff = Matching.diff(expectation.fields.filter { $0.key != "error" }, actual)
            if let error = expectation.fields["error"] {
                let text = error.stringValue ?? ""
                if ["present", "absent"].contains(text) {
                    if !Matching.matches(error, avatar.errorText.map { .string($0) }) { diff.append("error: expected \(text), actual \(avatar.errorText ?? "absent")") }
                } else if !(avatar.errorText ?? "").contains(text) {
                    diff.append("error: expected to contain '\(text)', actual \(avatar.errorText ?? "absent")")
                }
            }
            return diff.isEmpty
        }
        guard diff.isEmpty else { throw StepFailure(message: "avatar of \(user.firstName) differs", diff: diff) }
    }

    static func fields(_ avatar: Avatar, photos: Int) -> [String: JSONValue] {
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        return [
            "status": .string(avatar.status.rawValue), "type": text(avatar.trainingType?.rawValue), "finetune_id": text(avatar.finetuneId),
            "lora": text(avatar.loraURL), "trigger_word": .string(avatar.triggerWord), "attempt": .int(avatar.trainingAttempt),
            "name": .string(avatar.name), "gender": .string(avatar.gender.rawValue), "preset": .string(avatar.preset.rawValue), "photos": .int(photos),
        ]
    }

    private func falCalls() async -> [String] {
        await env.fal.journalEntries().suffix(6).map { "FAL \($0.kind.rawValue) \($0.appId ?? $0.path) → \($0.httpStatus) \($0.verdict?.rawValue ?? "")" }
    }
}
