import AishaSystem
import Foundation
import MockFAL
import SupportKit
import Testing

@Suite("Training flow against strict MockFAL", .serialized)
struct TrainingFlowTests {
    @Test("🎭 portrait → flux-lora-portrait-trainer with steps 1000 / lr 0.0002; completes with a LoRA; one ready message")
    func portrait() async throws {
        try await BotHarness.run { bot in
            try await bot.createAvatar(type: "Портретный")
            #expect(await bot.lastText().contains("Стоимость: 150"))
            try await bot.tap("Начать обучение")
            #expect(await eventually { await bot.lastText().contains("🎭 Портретное обучение запущено") })
            let submit = try #require(await bot.fal.journalEntries().first { $0.kind == .submit })
            #expect(submit.appId == "fal-ai/flux-lora-portrait-trainer")
            #expect(submit.verdict == .accepted)
            #expect(submit.input?["steps"] == 1000)
            #expect(submit.input?["learning_rate"]?.doubleValue == 0.0002)
            let webhookPath = "/api/v1/avatar/status_update?avatar_id=\(try #require(try await bot.avatar()).id.uuidString.lowercased())&attempt=1&training_type=portrait"
            #expect(submit.webhookURL?.hasSuffix(webhookPath) == true)
            await bot.fal.waitUntilIdle()
            #expect(await bot.fal.snapshots().first?.imageCount == 12)

            await bot.advance(.seconds(1000))
            #expect(try await eventually { try await bot.avatar()?.status == .completed })
            let avatar = try #require(try await bot.avatar())
            #expect(avatar.loraURL?.hasSuffix("pytorch_lora_weights.safetensors") == true)
            #expect(avatar.triggerWord == Avatar.triggerWord(for: avatar.id))
            #expect(submit.input?["trigger_phrase"]?.stringValue == avatar.triggerWord)
            #expect(await eventually { await bot.lastText().contains("готов!") })
            #expect(await bot.telegram.messages(to: 1001).filter { $0.text.contains("готов!") }.count == 1)
        }
    }

    @Test("🎨 style → flux-pro-trainer with iterations 500 / lr 1e-4 / priority quality, never steps (seed bugs 1, 3)")
    func style() async throws {
        try await BotHarness.run { bot in
            try await bot.createAvatar(type: "Художественный")
            #expect(try await bot.avatar()?.trainingType == .style)
            try await bot.tap("Начать обучение")
            #expect(await eventually { await bot.lastText().contains("🎨 Художественное обучение запущено") })
            let submit = try #require(await bot.fal.journalEntries().first { $0.kind == .submit })
            #expect(submit.appId == "fal-ai/flux-pro-trainer")
            #expect(submit.verdict == .accepted)
            #expect(submit.input?["iterations"] == 500)
            #expect(submit.input?["learning_rate"]?.doubleValue == 0.0001)
            #expect(submit.input?["priority"] == "quality")
            #expect(submit.input?["mode"] == "style")
            #expect(submit.input?["steps"] == nil)
            #expect(submit.webhookURL?.hasSuffix("training_type=style") == true)
            await bot.advance(.seconds(500))
            #expect(try await eventually { try await bot.avatar()?.finetuneId != nil })
            #expect(try await bot.avatar()?.status == .completed)
            #expect(await eventually { await bot.lastText().contains("готов!") })
        }
    }

    @Test("style on flux-lora-fast-training (is_style) when configured")
    func fastStyle() async throws {
        try await BotHarness.run(styleTrainer: .fluxLoraFastTraining) { bot in
            try await bot.createAvatar(type: "Художественный")
            try await bot.tap("Начать обучение")
            let submit = try #require(await bot.fal.journalEntries().first { $0.kind == .submit })
            #expect(submit.appId == "fal-ai/flux-lora-fast-training")
            #expect(submit.verdict == .accepted)
            #expect(submit.input?["is_style"] == true)
        }
    }

    @Test("failure at step 20: error stored, user told with a retrain button, credits refunded; retrain succeeds (seed bug 5)")
    func failureAndRetrain() async throws {
        try await BotHarness.run { bot in
            await bot.fal.addFault(FaultRule(times: 1, fault: Fault(failAtStep: 20, failMessage: "bad data")))
            try await bot.createAvatar(type: "Художественный")
            try await bot.tap("Начать обучение")
            #expect(try await bot.services.store.user(id: 1001)?.balance == 0)
            await bot.advance(.seconds(20))
            #expect(try await eventually { try await bot.avatar()?.status == .error })
            #expect(try await bot.avatar()?.errorText?.contains("step 20/500") == true)
            #expect(await eventually { await bot.lastText().contains("не удалось") })
            #expect(try await bot.services.store.user(id: 1001)?.balance == 150)
            let ledger = try await bot.services.store.ledger(userId: 1001).map(\.kind)
            #expect(ledger == [.grant, .charge, .refund])

            try await bot.tap("Обучить заново")
            try await bot.tap("Начать обучение")
            await bot.advance(.seconds(500))
            #expect(try await eventually { try await bot.avatar()?.status == .completed })
            #expect(try await bot.avatar()?.trainingAttempt == 2)
            #expect(await eventually { await bot.lastText().contains("готов!") })
        }
    }

    @Test("the same webhook delivered three times: one stored result, one notification")
    func duplicateWebhooks() async throws {
        try await BotHarness.run { bot in
            await bot.fal.addFault(FaultRule(fault: Fault(webhook: .duplicate, webhookCopies: 3)))
            try await bot.createAvatar(type: "Портретный")
            try await bot.tap("Начать обучение")
            await bot.advance(.seconds(1000))
            #expect(await eventually { await bot.fal.snapshots().first?.webhookAttempts.filter { $0.outcome == .delivered }.count == 3 })
            #expect(await eventually { await bot.lastText().contains("готов!") })
            await bot.advance(.seconds(10))
            #expect(await bot.telegram.messages(to: 1001).filter { $0.text.contains("готов!") }.count == 1)
        }
    }

    @Test("a lost webhook is recovered by the poller")
    func lostWebhook() async throws {
        try await BotHarness.run { bot in
            await bot.fal.addFault(FaultRule(fault: Fault(webhook: .drop)))
            try await bot.createAvatar(type: "Художественный")
            try await bot.tap("Начать обучение")
            await bot.advance(.seconds(500))
            #expect(try await bot.avatar()?.status == .training)
            await bot.advance(.seconds(660))
            await bot.advance(.seconds(60))
            #expect(try await eventually { try await bot.avatar()?.status == .completed })
            #expect(await eventually { await bot.lastText().contains("готов!") })
        }
    }

    @Test("too few credits: a clear message, nothing submitted, nothing charged")
    func insufficientCredits() async throws {
        try await BotHarness.run(cost: 150, welcome: 100) { bot in
            try await bot.createAvatar(type: "Портретный")
            try await bot.tap("Начать обучение")
            #expect(await bot.lastText().contains("Недостаточно кредитов: нужно 150, на балансе 100"))
            #expect(await bot.fal.journalEntries().isEmpty)
            #expect(try await bot.avatar()?.status == .readyForTraining)
        }
    }

    @Test("a submit whose answer is lost is not sent again: the user is told it is pending, FAL's webhook finishes it, paid once")
    func submitAnswerLost() async throws {
        try await BotHarness.run(losesAnswer: { $0.method == "POST" && $0.url.contains("/fal-ai/") }) { bot in
            try await bot.createAvatar(type: "Портретный")
            try await bot.tap("Начать обучение")
            #expect(await bot.lastText().contains("не ответил вовремя"))
            #expect(await bot.acceptedSubmits() == 1)
            #expect(try await bot.avatar()?.status == .training)
            await bot.advance(.seconds(1000))
            #expect(try await eventually { try await bot.avatar()?.status == .completed })
            #expect(await eventually { await bot.lastText().contains("готов!") })
            #expect(await bot.acceptedSubmits() == 1)
            #expect(try await bot.services.store.ledger(userId: BotHarness.anna.id).map(\.kind) == [.grant, .charge])
        }
    }

    @Test("FAL's webhook beats the submit's answer: the user reads 'started' before the outcome, each once")
    func webhookBeatsSubmitAnswer() async throws {
        let gate = Gate()
        try await BotHarness.run(checkpoint: { if $0 == .submitted { await gate.pass() } }) { bot in
            await bot.fal.addFault(FaultRule(times: 1, fault: Fault(archiveFetchFailure: "connection refused")))
            try await bot.createAvatar(type: "Художественный")
            let tap = Task { try await bot.tap("Начать обучение") }
            // FAL accepted; before its answer is stored, the job fails and the webhook is bound through its URL.
            #expect(await eventually(timeout: .seconds(20)) { await bot.lastText().contains("Failed to download archive") })
            await gate.open()
            try await tap.value
            await bot.time.settle()
            let texts = await bot.telegram.messages(to: BotHarness.anna.id).map(\.text)
            let started = texts.indices.filter { texts[$0].contains("Художественное обучение запущено") }
            let failed = texts.indices.filter { texts[$0].contains("Failed to download archive") }
            #expect(started.count == 1 && failed.count == 1)
            #expect(started.first ?? .max < failed.first ?? .min, "\(texts.suffix(3))")
            #expect(try await bot.avatar()?.status == .error)
        }
    }

    @Test("a FAL 503 on submit is retried after Retry-After")
    func submitRetried() async throws {
        try await BotHarness.run { bot in
            await bot.fal.addFault(FaultRule(times: 1, fault: Fault(submitStatus: 503, retryAfterSeconds: 5)))
            try await bot.createAvatar(type: "Портретный")
            let tap = Task { try await bot.tap("Начать обучение") }
            #expect(await bot.fal.waitForCalls(CallFilter(kind: .submit), count: 1))
            let before = bot.time.now()
            #expect(await eventually {
                await bot.time.advance(by: .seconds(1))
                return await bot.fal.journalEntries().filter { $0.kind == .submit }.count == 2
            })
            #expect(bot.time.now().timeIntervalSince(before) >= 5)
            try await tap.value
            #expect(await bot.fal.journalEntries().filter { $0.kind == .submit }.map(\.httpStatus) == [503, 200])
            #expect(await eventually { await bot.lastText().contains("Портретное обучение запущено") })
        }
    }
}

@Suite("FAL transport failures: which submits may be sent again")
struct FALTransportFailureTests {
    struct Failing: HTTPTransport {
        let error: HTTPTransportError
        func send(_ request: OutgoingRequest) async throws -> IncomingResponse { throw error }
    }

    @Test("no connection (nothing sent) is retryable; an answer lost after sending is not")
    func classification() async throws {
        func submit(_ error: HTTPTransportError) async throws {
            _ = try await FALClient(baseURL: "http://fal.invalid", key: "k", transport: Failing(error: error)).submit(app: "fal-ai/x", input: [:], webhookURL: "h")
        }
        await #expect(throws: FALError.unavailable(status: nil, detail: "not connected: refused", retryAfter: nil)) { try await submit(.notConnected("refused")) }
        await #expect(throws: FALError.noAnswer(detail: "timed out")) { try await submit(.timedOut) }
        await #expect(throws: FALError.noAnswer(detail: "unreachable: reset")) { try await submit(.unreachable("reset")) }
        #expect(FALError.unavailable(status: nil, detail: "", retryAfter: nil).isRetryable && !FALError.noAnswer(detail: "").isRetryable)
    }
}

/// Holds whoever calls `pass()` until `open()`.
private actor Gate {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func pass() async {
        if !isOpen { await withCheckedContinuation { waiting.append($0) } }
    }

    func open() {
        isOpen = true
        waiting.forEach { $0.resume() }
        waiting = []
    }
}
