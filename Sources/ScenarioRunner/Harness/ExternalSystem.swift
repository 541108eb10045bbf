import AishaSystem
import Foundation
import MockFAL

/// An AishaSystem the user started (`aisha serve`), driven by the runner instead of an in-process one. It must be
/// pointed at the runner's servers: `TELEGRAM_API_BASE_URL=http://127.0.0.1:<telegramPort>`, `TELEGRAM_MODE=webhook`,
/// `FAL_QUEUE_BASE_URL=http://127.0.0.1:<falPort>` and `FAL_JWKS_URL=http://127.0.0.1:<falPort>/.well-known/jwks.json`.
/// MockFAL's jobs still run on the runner's virtual clock (`advance` moves them); the system's own clock is real,
/// so MockFAL signs webhooks with the wall clock and scenarios that wait on the system's timers are skipped.
public struct ExternalSystem: Sendable {
    /// Where the system listens (its Telegram webhook and `status_update` are under it).
    public var url: String
    public var telegramPort: Int
    public var falPort: Int
    /// The system's `TELEGRAM_WEBHOOK_SECRET`, if it has one.
    public var telegramSecret: String?
    /// The system's `DATABASE_URL`, for expectations on stored state; without it such scenarios are skipped.
    public var databaseURL: String?

    public init(url: String, telegramPort: Int, falPort: Int, telegramSecret: String? = nil, databaseURL: String? = nil) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.telegramPort = telegramPort
        self.falPort = falPort
        self.telegramSecret = telegramSecret
        self.databaseURL = databaseURL
    }

    /// Why a scenario cannot run against an external system, or nil. Such a system has its own configuration,
    /// clock, process and log; the runner only owns mock Telegram and MockFAL (and may read the database).
    public func skipReason(_ scenario: Scenario) -> String? {
        let config = scenario.config
        let defaults = ScenarioConfig()
        if config.preset != defaults.preset || config.styleTrainer != defaults.styleTrainer || config.cost != defaults.cost
            || config.welcomeCredits != nil || config.webhookVerify != defaults.webhookVerify || config.pollInterval != defaults.pollInterval
            || config.staleAfter != defaults.staleAfter
        {
            return "sets AishaSystem's configuration, which an external system takes from its own environment"
        }
        if scenario.faults.contains(where: { $0.fault.webhook == .drop }) { return "drops webhooks: finishing relies on the poller's clock" }
        if let point = scenario.crashAt { return "crashes AishaSystem at \(point.rawValue): in-process only" }
        for step in scenario.steps {
            switch step.action {
            case .restart: return "restarts AishaSystem (line \(step.line)): in-process only"
            case .secondInstance: return "starts a second AishaSystem (line \(step.line)): in-process only"
            case .expectLog: return "reads AishaSystem's log (line \(step.line)): in-process only"
            case .falFault(let rule) where rule.fault.webhook == .drop: return "drops webhooks (line \(step.line)): finishing relies on the poller's clock"
            case .telegramFault(let fault) where fault.retryAfter != nil:
                return "waits out Telegram's retry_after (line \(step.line)) on the system's own clock"
            case .expectAvatar, .expectCredits:
                if databaseURL == nil { return "reads stored state (line \(step.line)): pass the system's --database-url" }
            case .callback(let data, _):
                if databaseURL == nil, data.contains("{avatar_id}") || data.contains("{trigger_word}") {
                    return "needs stored avatar ids (line \(step.line)): pass the system's --database-url"
                }
            case .send, .tap, .photos, .advance, .settle, .falFault, .telegramFault, .blockBot, .postWebhook, .expectMessage, .expectNoMessage,
                .expectFALSubmit, .expectFALCalls, .expectWebhook, .expectTelegramCall, .expectToast, .expectFALJob:
                continue
            }
        }
        return nil
    }
}
