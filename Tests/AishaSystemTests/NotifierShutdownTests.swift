@testable import AishaSystem
import Foundation
import SupportKit
import Synchronization
import Testing

/// A shutdown that cancels the notifier mid-delivery: the delivery that began ends with its mark, the rest go back.
@Suite("Notifier: shutdown during a delivery")
struct NotifierShutdownTests {
    /// Telegram that holds the first sendMessage until the test lets it answer, and counts every send.
    final class HeldTelegram: HTTPTransport {
        let entered: AsyncStream<Void>
        private let enter: AsyncStream<Void>.Continuation
        let release: AsyncStream<Void>
        let releases: AsyncStream<Void>.Continuation
        private let sends = Mutex<[Int]>([])

        init() {
            (entered, enter) = AsyncStream.makeStream()
            (release, releases) = AsyncStream.makeStream()
        }

        var chatsSentTo: [Int] { sends.withLock { $0 } }

        func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
            let chat = request.body.flatMap { try? JSONValue.parse($0) }?["chat_id"]?.intValue ?? 0
            let first = sends.withLock { sends in
                sends.append(chat)
                return sends.count == 1
            }
            if first {
                enter.yield()
                // Waits for the test, in a task of its own: the answer comes whether or not the caller was cancelled.
                let release = release
                await Task { for await _ in release { return } }.value
            }
            let body: JSONValue = ["ok": true, "result": ["message_id": 1]]
            return IncomingResponse(status: 200, body: try body.jsonData())
        }
    }

    @Test("cancelled while Telegram answers the first of two: that one is marked sent (never repeated), the second is given back untried")
    func cancelledMidDelivery() async throws {
        let time = TimeSource.virtual()
        let now = time.now()
        let store = try SQLiteAvatarStore()
        try await store.enqueue(NotificationDraft(chatId: 1, text: "ready", dedupeKey: "outcome:a"), now: now)
        try await store.enqueue(NotificationDraft(chatId: 2, text: "ready", dedupeKey: "outcome:b"), now: now)
        let telegram = HeldTelegram()
        let notifier = Notifier(
            store: store, objects: InMemoryObjectStore(), telegram: TelegramClient(baseURL: "http://telegram.test", token: "1:t", transport: telegram, time: time),
            time: time, logger: .quiet)
        let drain = Task { try await notifier.drain() }
        for await _ in telegram.entered { break }
        drain.cancel()
        telegram.releases.yield()
        #expect(try await drain.value == 1)
        #expect(telegram.chatsSentTo == [1])
        let next = try await store.claimDueNotifications(now: now, limit: 10, leaseUntil: now.addingTimeInterval(Notifier.claimLease))
        #expect(next.map(\.draft.chatId) == [2], "chat 1's message was marked sent; chat 2's is due again at once")
        #expect(next.first?.attempts == 0)
    }
}
