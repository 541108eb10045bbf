import AishaSystem
import Foundation
import MockFAL
import SupportKit

/// Plays the steps of one scenario against its environment.
final class StepExecutor {
    let env: ScenarioEnvironment
    let seed: UInt64
    var cursors: [Int64: Int] = [:]
    var generated: UInt64 = 0
    var lastPhoto: Data?
    var userEvents: [TimelineEvent] = []
    /// The last seen status of each avatar, for state-change events on the timeline.
    var avatarStates: [UUID: String] = [:]
    /// Each avatar's statuses as seen after each step (the `state-forward` invariant reads them).
    var history: [UUID: [AvatarStatus]] = [:]
    /// Updates delivered with `background: true`, still being handled by the bot.
    var inFlight: [PendingAnswer] = []
    /// Foreground updates whose handling waits on the virtual clock: the user waits for them before acting again.
    var awaited: [PendingAnswer] = []
    /// On real time: the moment the `advance` steps so far reach (each adds its duration to the later of this
    /// and now); an expectation may wait until then.
    var horizon: ContinuousClock.Instant?

    init(env: ScenarioEnvironment, seed: UInt64) {
        self.env = env
        self.seed = seed
    }

    var scenario: Scenario { env.scenario }

    func user(_ id: Int64?) throws -> ScenarioUser {
        guard let id else { return scenario.mainUser }
        guard let user = scenario.users.first(where: { $0.id == id + env.userOffset }) else {
            throw StepFailure(message: "user \(id) is not declared; users: \(scenario.users.map { String($0.id - env.userOffset) }.joined(separator: ", "))")
        }
        return user
    }

    func note(_ kind: TimelineEvent.Kind, _ text: String) {
        userEvents.append(TimelineEvent(time: env.time.now(), kind: kind, text: text))
    }

    /// Runs a step. An update the user sends is finished with everything it set off (the bot's messages, queued ones
    /// included) before the next step, as a person would read the answer before acting again.
    func run(_ step: Step) async throws {
        if !step.action.isAdvance { try await awaitAnswers() }
        try await perform(step)
        if step.action.isForegroundUpdate { await settle() }
    }

    private func perform(_ step: Step) async throws {
        switch step.action {
        case .send(let text, let id, let background):
            let user = try user(id)
            note(.user, "\(user.firstName): \(text)")
            let world = env.world
            try await deliver(background) { await world.userSends(from: user, text: text) }
        case .tap(let label, let id, let background, let which):
            try await tap(label, user: try user(id), background: background, on: which)
        case .callback(let raw, let id):
            let user = try user(id)
            let data = try await substitute(raw)
            note(.user, "\(user.firstName) sends callback \(data)")
            let world = env.world
            let message = await world.messages(to: user.id).last
            try await answer("callback") { await world.userTaps(from: user, data: data, on: message) }
        case .photos(let spec, let id):
            try await sendPhotos(spec, user: try user(id))
        case .advance(let duration):
            if case .proxied(_, let staging) = env.falSide {
                // Real time: up to that long (scaled for slow trainers), moving on once the next expectation holds.
                horizon = max(horizon ?? .now, .now) + duration * staging.timeScale
                note(.clock, "advance: up to \((duration * staging.timeScale).timeInterval) s of real time")
            } else {
                note(.clock, "advance \(duration.timeInterval) s")
                try await advance(duration)
            }
        case .settle(let limit):
            if case .proxied(_, let staging) = env.falSide {
                horizon = max(horizon ?? .now, .now) + limit * staging.timeScale
                note(.clock, "settle: up to \((limit * staging.timeScale).timeInterval) s of real time")
            } else {
                let waited = try await settleQuietly(atMost: limit)
                note(.clock, "settled after \(waited.timeInterval) s (at most \(limit.timeInterval) s)")
            }
        case .restart:
            note(.system, "AishaSystem restarted")
            try await env.restartAisha()
        case .secondInstance:
            note(.system, "a second AishaSystem started on the same database; updates alternate between the two")
            try await env.startSecondInstance()
        case .falFault(let rule):
            note(.system, "MockFAL fault: \(Matching.render(try? JSONValue.from(rule)))")
            await env.fal.addFault(rule)
        case .telegramFault(let fault):
            note(.system, "Telegram fault on \(fault.method): \(fault.code) ×\(fault.times)")
            await env.world.inject(fault)
        case .blockBot(let id):
            let user = try user(id)
            note(.user, "\(user.firstName) blocks the bot")
            await env.world.block(chat: user.id)
        case .postWebhook(let body, let signed, let expected):
            try await postWebhook(body, signed: signed, expected: expected)
        case .expectMessage, .expectFALSubmit, .expectFALCalls, .expectAvatar, .expectLog, .expectWebhook, .expectCredits,
            .expectTelegramCall, .expectToast, .expectFALJob:
            try await expect(step.action)
        case .expectNoMessage:
            // On real time "nothing came" can only mean "nothing has come yet": it is checked now.
            try await Expectations(executor: self).check(step.action)
        }
    }

    /// Checks an expectation; on real time it is tried again until it holds, or until 5 s after the horizon the
    /// `advance` steps before it reach.
    private func expect(_ action: StepAction) async throws {
        guard !env.time.isVirtual else { return try await Expectations(executor: self).check(action) }
        let deadline = max(horizon ?? .now, .now) + .seconds(5)
        while true {
            do {
                return try await Expectations(executor: self).check(action)
            } catch is StepFailure where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Notes every avatar whose status changed since the last step.
    func noteStateChanges() async {
        guard let store = try? env.store else { return }
        for user in scenario.users {
            for avatar in (try? await store.avatars(ownerId: user.id)) ?? [] {
                if history[avatar.id]?.last != avatar.status { history[avatar.id, default: []].append(avatar.status) }
                let state = avatar.status.rawValue + (avatar.errorText.map { " (\($0))" } ?? "")
                guard avatarStates[avatar.id] != state else { continue }
                avatarStates[avatar.id] = state
                let result = avatar.finetuneId.map { " finetune_id=\($0)" } ?? avatar.loraURL.map { " lora=\($0)" } ?? ""
                note(.state, "avatar «\(avatar.name)» (\(avatar.trainingType?.rawValue ?? "?")) → \(state)\(result)")
            }
        }
    }

    func check(_ status: Int, _ what: String) throws {
        guard (200..<300).contains(status) else {
            throw StepFailure(message: "AishaSystem answered the \(what) update with HTTP \(status)")
        }
    }

    /// Delivers an update and checks the bot's answer, or lets it run while later steps go on (a handler that waits
    /// on the clock, e.g. a retry after Retry-After).
    private func deliver(_ background: Bool, _ update: @escaping @Sendable () async -> Int) async throws {
        if background {
            deliverInBackground("background update", update)
        } else {
            try await answer("update", update)
        }
    }

    private func tap(_ label: String, user: ScenarioUser, background: Bool, on which: MessageChoice) async throws {
        note(.user, "\(user.firstName) taps \(label)\(which == .latest ? "" : " on \(which)")")
        let world = env.world
        if background {
            deliverInBackground("background tap") {
                guard case .success(let (button, message)) = await world.button(label, for: user, on: which) else { return 0 }
                return await world.userTaps(from: user, data: button.callbackData, on: message)
            }
            return
        }
        switch try await waitForButton(label, user: user, on: which) {
        case .success(let (button, message)): try await answer("callback") { await world.userTaps(from: user, data: button.callbackData, on: message) }
        case .failure(let failure): throw StepFailure(message: failure.description)
        }
    }

    private func sendPhotos(_ spec: PhotoSpec, user: ScenarioUser) async throws {
        let group = spec.album ? "album-\(generated)" : nil
        note(.user, "\(user.firstName) sends \(spec.count) \(spec.kind.rawValue) photo(s) \(spec.width)x\(spec.height)\(spec.album ? " as an album" : "")")
        for _ in 0..<spec.count {
            generated += 1
            let data: Data
            switch spec.kind {
            case .normal: data = spec.format.image(width: spec.width, height: spec.height, seed: seed &* 1_000_003 &+ generated)
            case .broken: data = Data("this is not an image at all".utf8)
            case .empty: data = Data()
            case .duplicate: data = lastPhoto ?? PNGEncoder.bilevel(width: spec.width, height: spec.height, seed: seed)
            case .bomb: data = PNGEncoder.bilevel(width: 1, height: 1, seed: 0).replacingIHDRSize(width: spec.width, height: spec.height)
            case .huge:
                var padded = PNGEncoder.bilevel(width: spec.width, height: spec.height, seed: generated)
                padded.append(Data(count: 21 * 1024 * 1024))
                data = padded
            }
            if spec.kind == .normal { lastPhoto = data }
            let name = spec.fileName ?? "photo_\(generated).\(spec.format.fileExtension)"
            let world = env.world
            let fileId = await world.addFile(data, name: name)
            if spec.asDocument {
                let document: JSONValue = ["file_id": .string(fileId), "file_name": .string(name), "mime_type": .string(spec.format.mimeType), "file_size": .int(data.count)]
                try await answer("photo") { await world.userSends(from: user, document: document, mediaGroup: group) }
            } else {
                let sizes = TelegramWorld.photoSizes(fileId: fileId, width: spec.width, height: spec.height, size: data.count)
                try await answer("photo") { await world.userSends(from: user, photo: sizes, mediaGroup: group) }
            }
        }
    }

    /// Moves virtual time deadline by deadline; at each, the work it wakes (jobs, webhooks, polls, notifications)
    /// finishes before time moves on, so events happen in the order their times say.
    /// Lets virtual time pass; a system that crashed meanwhile (`crash_at`) is started again once the time has passed.
    func advance(_ duration: Duration) async throws {
        await letBackgroundUpdatesStart()
        await settle()
        await env.time.advance(by: duration)
        await settle()
        try await restartIfCrashed()
    }

    /// Starts AishaSystem again if it died at its `crash_at` point since the last look.
    func restartIfCrashed() async throws {
        guard env.crash.takeRestartDue() else { return }
        note(.system, "AishaSystem crashed at \(env.crash.fired?.rawValue ?? "?") (crash_at); started again")
        try await env.restartAisha()
    }

    /// Waits until the counted work and MockFAL's own are done.
    func settle() async {
        await env.time.settle()
        await env.fal.waitUntilIdle()
    }

    /// Replaces `{avatar_id}`, `{trigger_word}`, `{finetune_id}`, `{lora_url}` (the main user's latest avatar) and
    /// `{request_id}` (the latest FAL request).
    func substitute(_ text: String) async throws -> String {
        var result = text
        if ["{avatar_id}", "{trigger_word}", "{finetune_id}", "{lora_url}"].contains(where: result.contains) {
            let avatar = try await env.store.avatars(ownerId: scenario.mainUser.id).last
            result = result.replacingOccurrences(of: "{avatar_id}", with: avatar?.id.uuidString.lowercased() ?? "no-avatar")
            result = result.replacingOccurrences(of: "{trigger_word}", with: avatar?.triggerWord ?? "no-avatar")
            result = result.replacingOccurrences(of: "{finetune_id}", with: avatar?.finetuneId ?? "no-finetune")
            result = result.replacingOccurrences(of: "{lora_url}", with: avatar?.loraURL ?? "no-lora")
        }
        if result.contains("{request_id}") {
            let id = await env.falJobs.snapshots().last?.requestId ?? "no-request"
            result = result.replacingOccurrences(of: "{request_id}", with: id)
        }
        return result
    }

    private func postWebhook(_ body: JSONValue, signed: Bool, expected: Int?) async throws {
        let text = try await substitute(String(decoding: try body.jsonData(), as: UTF8.self))
        let data = Data(text.utf8)
        var headers = [("Content-Type", "application/json")]
        if signed {
            let signingTime = env.signingTime
            let requestId = (try? JSONValue.parse(data))?["request_id"]?.stringValue ?? ""
            headers += await env.fal.keyRing.headers(
                requestId: requestId, userId: "scenario", timestamp: Int(signingTime.now().timeIntervalSince1970), body: data)
        }
        guard let base = env.aishaBaseURL else { throw StepFailure(message: "AishaSystem is not running") }
        note(.webhook, "POST status_update \(signed ? "signed" : "unsigned"): \(text)")
        let response = try await AsyncHTTPClientTransport().send(
            OutgoingRequest(method: "POST", url: "\(base)/api/v1/avatar/status_update", headers: headers, body: data))
        if let expected, response.status != expected {
            throw StepFailure(
                message: "post_webhook: expected HTTP \(expected), actual \(response.status)",
                diff: ["body: \(String(decoding: response.body.prefix(300), as: UTF8.self))"])
        }
    }
}

extension Data {
    /// The same PNG with its header claiming another size (the pixel data stays tiny).
    func replacingIHDRSize(width: Int, height: Int) -> Data {
        var copy = self
        let size = [width, height].flatMap { value in [24, 16, 8, 0].map { UInt8((value >> $0) & 0xFF) } }
        copy.replaceSubrange(16..<24, with: size)
        return copy
    }
}
