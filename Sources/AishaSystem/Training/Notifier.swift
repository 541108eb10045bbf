import Foundation
import Logging
import ServiceLifecycle
import SupportKit

/// Sends the outbox to Telegram: in order per chat, 429 waited out, blocked users marked and skipped.
public actor Notifier: Service {
    let store: any AvatarStore
    /// Where the images of a notification that carries some are read from.
    let objects: any ObjectStore
    let telegram: TelegramClient
    let time: TimeSource
    let logger: Logger
    /// How often an idle notifier looks for work it was not told about (claims of a sender that died, other
    /// instances); work queued here kicks it, and retries wake it at their due time.
    let interval: Duration
    let maxAttempts = 10
    /// How long a claimed notification stays with this sender before another may take it (a sender that died).
    public static let claimLease: TimeInterval = 1800
    /// Called after each send, before its mark; a throw there ends the drain with no clean-up, as a crash would (tests only).
    let checkpoint: @Sendable (Checkpoint) async throws -> Void
    private var kicked = false
    private var pendingKick: Activity.Token?
    private var looping = false
    private var waiter: CheckedContinuation<Void, Never>?
    /// One drain at a time, so a notification is never picked up twice.
    private var draining = false
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []

    init(
        store: any AvatarStore, objects: any ObjectStore, telegram: TelegramClient, time: TimeSource, logger: Logger, interval: Duration = .seconds(60),
        checkpoint: @escaping @Sendable (Checkpoint) async throws -> Void = { _ in }
    ) {
        self.store = store
        self.checkpoint = checkpoint
        self.objects = objects
        self.telegram = telegram
        self.time = time
        self.logger = logger
        self.interval = interval
    }

    /// Wakes the loop now (something was queued).
    public func kick() {
        // Counted until the drain it causes has begun (only while the loop runs: nobody else would release it).
        if looping, pendingKick == nil { pendingKick = time.hold() }
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            kicked = true
        }
    }

    public func run() async throws {
        setLooping(true)
        await cancelWhenGracefulShutdown {
            await self.time.work {
                while !Task.isCancelled {
                    await self.takeKick()
                    do { try await self.drain() } catch { self.logger.error("outbox drain failed: \(error)") }
                    await self.waitForWork()
                }
            }
        }
        setLooping(false)
    }

    private func setLooping(_ on: Bool) {
        looping = on
        if !on { takeKick() }
    }

    /// The drain about to begin is counted by the loop itself now.
    private func takeKick() {
        pendingKick?.release()
        pendingKick = nil
    }

    private func waitForWork() async {
        if kicked {
            kicked = false
            return
        }
        // An absolute wake-up time, fixed now: a timer that starts late still fires at the right (virtual) time.
        var wakeAt = time.now().addingTimeInterval(interval.timeInterval)
        if let due = try? await store.nextNotificationDue(), due < wakeAt { wakeAt = due }
        // A kick that came while the store was asked must not be lost (the clock may never reach the timer).
        if kicked {
            kicked = false
            return
        }
        let time = self.time
        let timer = time.task { [weak self, wakeAt] in
            try? await time.sleep(until: wakeAt)
            await self?.kick()
        }
        await time.idle {  // the kick that ends the wait is counted (pendingKick)
            await withTaskCancellationHandler {
                await withCheckedContinuation { waiter = $0 }
            } onCancel: {
                Task { await self.kick() }
            }
        }
        timer.cancel()
        kicked = false
    }

    /// Sends every due notification once; returns how many were sent.
    @discardableResult
    public func drain() async throws -> Int {
        while draining { await withCheckedContinuation { drainWaiters.append($0) } }
        draining = true
        defer {
            draining = false
            if !drainWaiters.isEmpty { drainWaiters.removeFirst().resume() }
        }
        var sent = 0
        while true {
            let now = time.now()
            let due = try await store.claimDueNotifications(now: now, limit: 50, leaseUntil: now.addingTimeInterval(Self.claimLease))
            if due.isEmpty { return sent }
            for (index, item) in due.enumerated() {
                guard !Task.isCancelled else {
                    // Shutting down: what was claimed and not tried goes back now, so the next sender need not wait out the
                    // lease (in a task of its own: the store refuses work to a cancelled one).
                    let (store, left) = (store, due[index...].map(\.id))
                    try await Task { for id in left { try await store.releaseNotification(id: id) } }.value
                    return sent
                }
                // A delivery that has begun runs to its end (send and mark) even when shutdown cancels the drain: cut
                // between Telegram's answer and the mark, the next sender would tell the user again after the lease.
                if try await Task(operation: { try await self.deliver(item) }).value { sent += 1 }
            }
        }
    }

    private func deliver(_ item: QueuedNotification) async throws -> Bool {
        let now = time.now()
        do {
            if let earlier = item.draft.retires { try await retireKeyboard(of: earlier, chat: item.draft.chatId) }
            let message = try await send(item.draft)
            try await checkpoint(.notificationSent)
            try await store.markNotificationSent(id: item.id, messageId: message, now: now)
            return true
        } catch let error as TelegramError {
            switch error {
            case .tooManyRequests(let seconds):
                try await store.rescheduleNotification(id: item.id, at: now.addingTimeInterval(Double(max(seconds, 1))), error: error.description)
            case .blocked:
                try await store.setUserBlocked(id: item.draft.chatId, blocked: true)
                try await store.dropNotification(id: item.id, reason: error.description, now: now)
                logger.warning("user blocked the bot; notification dropped", metadata: ["chat_id": "\(item.draft.chatId)"])
            case .notModified:
                try await store.markNotificationSent(id: item.id, messageId: nil, now: now)
            case .api(let code, _) where code < 500:
                try await store.dropNotification(id: item.id, reason: error.description, now: now)
            default:
                if item.attempts + 1 >= maxAttempts {
                    try await store.dropNotification(id: item.id, reason: error.description, now: now)
                } else {
                    let backoff = Double(min(1 << (item.attempts + 1), 600))
                    try await store.rescheduleNotification(id: item.id, at: now.addingTimeInterval(backoff), error: error.description)
                }
            }
            return false
        }
    }

    /// Sends a draft; returns the message's id when it has a keyboard a later notification may retire.
    private func send(_ draft: NotificationDraft) async throws -> Int64? {
        guard draft.photos.isEmpty else {
            var photos: [Data] = []
            for key in draft.photos { photos.append(try await objects.get(key: key)) }
            try await telegram.sendPhotos(chatId: draft.chatId, photos: photos, caption: draft.text)
            return nil
        }
        let sent = try await telegram.call("sendMessage", TelegramClient.messageParameters(chatId: draft.chatId, text: draft.text, buttons: draft.buttons))
        return draft.buttons.isEmpty ? nil : sent["message_id"]?.intValue.map(Int64.init)
    }

    /// Removes the keyboard of the message an earlier notification became — at most once, however many ask — unless
    /// it is the message a tap came from (`tapped`), whose keyboard the tap's own handling removes. A message the user
    /// deleted has none left. A 429, 403 or 5xx is the caller's (a notification waits, is dropped or retried as its
    /// own send would be); the keyboard then stays, and a tap on it is answered as stale.
    public func retireKeyboard(of dedupeKey: String, chat: Int64, tapped: Int64? = nil) async throws {
        guard let message = try await store.takeKeyboardMessage(dedupeKey: dedupeKey), message != tapped else { return }
        do {
            try await telegram.removeButtons(chatId: chat, messageId: message)
        } catch TelegramError.api(let code, let description) where code == 400 {
            logger.info("keyboard to retire is gone: \(description)", metadata: ["chat_id": "\(chat)"])
        }
    }
}
