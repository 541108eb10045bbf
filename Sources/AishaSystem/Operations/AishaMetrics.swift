import Foundation
import Metrics
import Prometheus

/// AishaSystem's metrics through swift-metrics, kept in this instance's own Prometheus registry and served at
/// `GET /metrics`. Label values come from closed sets (apps, types, outcomes, methods, status classes): never a user
/// or request id.
public final class AishaMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30)]
        self.factory = factory
    }

    /// What became of a FAL status webhook.
    public enum WebhookOutcome: String, Sendable, CaseIterable {
        case applied, duplicate
        case unknownRequest = "unknown_request"
        case invalidBody = "invalid_body"
        case refusedUnsigned = "refused_unsigned"
        case refusedBadSignature = "refused_bad_signature"
        case refusedStale = "refused_stale"
        case refusedKeysUnavailable = "refused_keys_unavailable"
        case refusedTooLarge = "refused_too_large"
    }

    func trainingStarted(app: String, type: TrainingType) {
        counter("aisha_trainings_started_total", [("trainer", app), ("type", type.rawValue)]).increment()
    }

    func trainingFinished(_ avatar: Avatar) {
        let app = avatar.trainerApp ?? "unknown"
        counter("aisha_trainings_finished_total", [("trainer", app), ("type", avatar.trainingType?.rawValue ?? "unknown"), ("status", avatar.status.rawValue)]).increment()
    }

    /// A submit to FAL: how long it took, and its HTTP status (0: no answer).
    func falSubmit(seconds: Double, status: Int) {
        Metrics.Timer(label: "aisha_fal_submit_duration_seconds", factory: factory).recordSeconds(seconds)
        if !(200..<300).contains(status) { counter("aisha_fal_submit_errors_total", [("status", Self.statusClass(status))]).increment() }
    }

    func webhook(_ outcome: WebhookOutcome) {
        counter("aisha_webhooks_total", [("outcome", outcome.rawValue)]).increment()
    }

    func pollerRecovered(_ what: String) {
        counter("aisha_poller_recoveries_total", [("kind", what)]).increment()
    }

    /// A Bot API call and how Telegram answered (`ok`, `429`, `403`, `4xx`, `5xx`, `network`).
    func telegramCall(method: String, result: String) {
        counter("aisha_telegram_calls_total", [("method", method), ("result", result)]).increment()
    }

    /// The outbox and the ledger as the store has them now (read when `/metrics` is scraped).
    func record(_ stats: OperationalStats) {
        Metrics.Gauge(label: "aisha_outbox_pending", factory: factory).record(stats.pendingNotifications)
        Metrics.Gauge(label: "aisha_outbox_oldest_pending_seconds", factory: factory).record(stats.oldestPendingSeconds)
        Metrics.Gauge(label: "aisha_credits_charged", factory: factory).record(stats.charged)
        Metrics.Gauge(label: "aisha_credits_refunded", factory: factory).record(stats.refunded)
    }

    /// The Prometheus text exposition of everything recorded.
    public func exposition() -> String { registry.emitToString() }

    static func statusClass(_ status: Int) -> String {
        switch status {
        case 0: "network"
        case 429, 403, 404, 409, 410, 422: String(status)
        case 400..<500: "4xx"
        default: "5xx"
        }
    }

    private func counter(_ name: String, _ labels: [(String, String)]) -> Metrics.Counter {
        Metrics.Counter(label: name, dimensions: labels, factory: factory)
    }
}

/// What `/metrics` reads from the store when scraped.
public struct OperationalStats: Sendable, Equatable {
    public var pendingNotifications: Int
    /// Age of the oldest notification still waiting (0 when none).
    public var oldestPendingSeconds: Double
    public var charged: Int
    public var refunded: Int

    public init(pendingNotifications: Int, oldestPendingSeconds: Double, charged: Int, refunded: Int) {
        self.pendingNotifications = pendingNotifications
        self.oldestPendingSeconds = oldestPendingSeconds
        self.charged = charged
        self.refunded = refunded
    }
}
