#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// What answers FAL's queue API: MockFAL's own simulation (`FALQueue`) or the real FAL behind the recording,
/// fault-injecting proxy (`FALProxy`). Both journal every call in the queue's journal.
public protocol QueueBackend: Sendable {
    /// `POST /{app_id}[/{path}]?fal_webhook=…`; `headers` are the client's `X-Fal-*` headers.
    func submit(path: String, body: Data, webhookURL: String?, baseURL: String, authorization: String?, headers: [(String, String)]) async
        -> QueueReply
    /// `GET …/requests/{id}/status[?logs=1]`
    func status(prefix: String, requestId: String, logs: Bool, authorization: String?) async -> QueueReply
    /// `GET …/requests/{id}`
    func result(prefix: String, requestId: String, authorization: String?) async -> QueueReply
    /// `PUT …/requests/{id}/cancel`
    func cancel(prefix: String, requestId: String, authorization: String?) async -> QueueReply
    /// Every job, oldest first, as the control API shows them.
    func snapshots() async -> [JobSnapshot]
    /// Sends every webhook held back by a `reorder` fault.
    func flushHeldWebhooks() async
    /// Why this backend cannot apply a fault, or nil.
    func refusal(of fault: Fault) -> String?
}

extension FALQueue: QueueBackend {
    public func submit(
        path: String, body: Data, webhookURL: String?, baseURL: String, authorization: String?, headers: [(String, String)]
    ) -> QueueReply {
        submit(path: path, body: body, webhookURL: webhookURL, baseURL: baseURL, authorization: authorization)
    }

    /// The simulation can show every fault.
    public nonisolated func refusal(of fault: Fault) -> String? { nil }
}
