import Foundation
import Logging
import ServiceLifecycle
import SupportKit

/// Long-polls `getUpdates` and feeds the conversation; the offset is stored, so a restart neither loses nor
/// repeats updates.
struct TelegramPolling: Service {
    let telegram: TelegramClient
    let store: any AvatarStore
    let conversation: ConversationHandler
    let time: TimeSource
    let logger: Logger
    var longPollSeconds = 25
    static let offsetKey = "telegram_offset"

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await poll() }
    }

    private func poll() async throws {
        try? await telegram.deleteWebhook()
        var failures = 0
        while !Task.isCancelled {
            do {
                let offset = try await store.setting(Self.offsetKey).flatMap { Int64($0) }
                let updates = try await telegram.getUpdates(offset: offset, timeout: longPollSeconds)
                failures = 0
                for update in updates {
                    await conversation.handle(update)
                    try await store.setSetting(Self.offsetKey, String(update.updateId + 1))
                }
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                logger.warning("getUpdates failed (\(failures) in a row): \(error)")
                do { try await time.sleep(for: .seconds(min(1 << min(failures, 5), 30))) } catch { return }
            }
        }
    }
}
