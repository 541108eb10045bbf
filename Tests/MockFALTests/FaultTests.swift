import Foundation
import MockFAL
import SupportKit
import Testing

@Suite("Faults: deterministic misbehaviour on demand")
struct FaultTests {
    static let style = "fal-ai/flux-pro-trainer"

    @Test("fail at step 20: status error, result 500, ERROR webhook (seed bug 5)")
    func failAtStep() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        await harness.queue.addFault(FaultRule(app: Self.style, fault: Fault(failAtStep: 20, failMessage: "CUDA out of memory")))
        let id = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.advance(.seconds(19))
        #expect(await harness.status(Self.style, id).body["status"] == "IN_PROGRESS")
        await harness.advance(.seconds(1))
        let status = await harness.status(Self.style, id)
        #expect(status.body["status"] == "COMPLETED")
        #expect(status.body["error"] == "Training failed at step 20/500: CUDA out of memory")
        #expect(await harness.queue.snapshots().first?.step == 20)
        #expect(await harness.result(Self.style, id).status == 500)
        #expect(await eventually { await harness.transport.webhooks.count == 1 })
        let body = try JSONValue.parse(try #require(await harness.transport.webhooks.first?.body))
        #expect(body["status"] == "ERROR")
        #expect(body["error"] == "Invalid status code: 500")
    }

    @Test("submit 429 with Retry-After, used up after `times`")
    func submitRateLimited() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        await harness.queue.addFault(FaultRule(times: 1, fault: Fault(submitStatus: 429, retryAfterSeconds: 7)))
        let limited = try await harness.submit(Self.style, Harness.styleInput)
        #expect(limited.status == 429)
        #expect(limited.headers.first { $0.0 == "Retry-After" }?.1 == "7")
        #expect(await harness.queue.snapshots().isEmpty)
        #expect(try await harness.submit(Self.style, Harness.styleInput).status == 200)
    }

    @Test("archive fetch failure on demand")
    func archiveFailure() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        await harness.queue.addFault(FaultRule(fault: Fault(archiveFetchFailure: "connection reset")))
        let id = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.queue.waitUntilIdle()
        #expect(await harness.status(Self.style, id).body["error"] == "Failed to download archive: connection reset")
    }

    @Test("webhook dropped: never sent, the job still completes")
    func dropped() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        await harness.queue.addFault(FaultRule(fault: Fault(webhook: .drop)))
        let id = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.advance(.seconds(600))
        #expect(await harness.status(Self.style, id).body["status"] == "COMPLETED")
        #expect(await harness.transport.webhooks.isEmpty)
        #expect(await harness.queue.snapshots().first?.webhookAttempts.map(\.outcome) == [.dropped])
    }

    @Test("webhook duplicated ×3")
    func duplicated() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        await harness.queue.addFault(FaultRule(fault: Fault(webhook: .duplicate, webhookCopies: 3)))
        _ = try await harness.submit(Self.style, Harness.styleInput)
        await harness.advance(.seconds(500))
        #expect(await eventually { await harness.transport.webhooks.count == 3 })
        let bodies = await harness.transport.webhooks.map(\.body)
        #expect(Set(bodies).count == 1)
    }

    @Test("webhook delayed: sent only once the delay has passed on the clock")
    func delayed() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        await harness.queue.addFault(FaultRule(fault: Fault(webhook: .delay, webhookDelaySeconds: 120)))
        _ = try await harness.submit(Self.style, Harness.styleInput)
        await harness.advance(.seconds(500))
        await harness.advance(.seconds(119))
        #expect(await harness.transport.webhooks.isEmpty)
        await harness.advance(.seconds(1))
        #expect(await eventually { await harness.transport.webhooks.count == 1 })
    }

    @Test("webhook reordered: held until a later job's webhook went out")
    func reordered() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        await harness.queue.addFault(FaultRule(times: 1, fault: Fault(webhook: .reorder)))
        let first = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.advance(.seconds(100))
        let second = try await harness.submit(Self.style, Harness.styleInput).requestId
        await harness.advance(.seconds(500))
        #expect(await eventually { await harness.transport.webhooks.count == 2 })
        let order = await harness.transport.webhooks.compactMap { $0.headers.first { $0.0 == "X-Fal-Webhook-Request-Id" }?.1 }
        #expect(order == [second, first])
    }

    @Test("a failing receiver gets retries with exponential backoff until it answers 2xx")
    func retries() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        await harness.transport.setWebhookStatus(503)
        _ = try await harness.submit(Self.style, Harness.styleInput)
        await harness.advance(.seconds(500))
        #expect(await eventually { await harness.transport.webhooks.count == 1 })
        await harness.advance(.seconds(14))
        #expect(await harness.transport.webhooks.count == 1)
        await harness.advance(.seconds(1))
        #expect(await eventually { await harness.transport.webhooks.count == 2 })
        await harness.transport.setWebhookStatus(200)
        await harness.advance(.seconds(30))
        #expect(await eventually { await harness.transport.webhooks.count == 3 })
        await harness.advance(.seconds(3600))
        #expect(await harness.transport.webhooks.count == 3)
        let outcomes = await harness.queue.snapshots().first?.webhookAttempts.map(\.outcome)
        #expect(outcomes == [.failed, .failed, .delivered])
    }

    @Test("probabilistic faults are reproducible from the seed")
    func seeded() async throws {
        func outcomes(seed: UInt64) async throws -> [Int] {
            let harness = try Harness { $0.seed = seed }
            try await harness.serveArchive()
            await harness.queue.addFault(FaultRule(probability: 0.5, fault: Fault(submitStatus: 503)))
            var statuses: [Int] = []
            for _ in 0..<16 { statuses.append(try await harness.submit(Self.style, Harness.styleInput).status) }
            return statuses
        }
        let first = try await outcomes(seed: 42)
        #expect(try await outcomes(seed: 42) == first)
        #expect(Set(first) == [200, 503])
        #expect(try await outcomes(seed: 43) != first)
    }

    @Test("slow responses are held back on the clock")
    func slow() async throws {
        let harness = try Harness()
        try await harness.serveArchive()
        await harness.queue.addFault(FaultRule(fault: Fault(responseDelaySeconds: 30)))
        let id = try await harness.submit(Self.style, Harness.styleInput).requestId
        #expect(await harness.status(Self.style, id).delay == .seconds(30))
    }
}
