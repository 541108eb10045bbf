import Foundation
import Logging
import ServiceLifecycle
import SupportKit

/// Points Telegram at `/telegram/webhook` once the server listens (its public address known), and keeps trying —
/// 1 s, 2 s, 4 s … at most 5 min apart — until Telegram takes it: a bot started while Telegram is unreachable
/// begins answering once Telegram is back, without a restart.
struct TelegramWebhookRegistration: Service {
    let services: AishaServices
    /// Yields once the server listens, with the hold that counts the registration as work until it has begun (virtual
    /// time then waits for the first try).
    let listening: AsyncStream<Activity.Token?>
    static let maxDelaySeconds = 300

    func run() async throws {
        // Once: the stream ends after the server's one "listening" (or with the group, if it never starts).
        for await hold in listening {
            await cancelWhenGracefulShutdown { await register(releasing: hold) }
        }
        // Registered (or shutting down): a service that returned would end the others, so it stays until the end.
        try? await gracefulShutdown()
    }

    private func register(releasing hold: Activity.Token?) async {
        let (telegram, time, logger) = (services.telegram, services.time, services.logger)
        let url = services.configuration.telegramWebhookURL ?? "\(services.endpoint.url)/telegram/webhook"
        await time.work {
            hold?.release()
            var failures = 0
            while !Task.isCancelled {
                do {
                    try await telegram.setWebhook(url: url, secretToken: services.configuration.telegramWebhookSecret)
                    if failures > 0 { logger.info("setWebhook succeeded after \(failures) failure(s)") }
                    return
                } catch {
                    failures += 1
                    let delay = min(1 << min(failures - 1, 9), Self.maxDelaySeconds)
                    logger.error("setWebhook failed (\(failures) in a row), trying again in \(delay) s: \(error)")
                    do { try await time.sleep(for: .seconds(delay)) } catch { return }
                }
            }
        }
    }
}
