import Crypto
import Foundation
import SupportKit

/// Why a webhook was refused (logged; the sender gets 401).
public enum WebhookRejection: Error, Sendable, Equatable, CustomStringConvertible {
    case missingHeaders
    case staleTimestamp(skewSeconds: Int)
    case badSignature
    case keysUnavailable(String)

    public var description: String {
        switch self {
        case .missingHeaders: "missing X-Fal-Webhook-* signature headers"
        case .staleTimestamp(let skew): "timestamp \(skew) s away from now (limit 300 s)"
        case .badSignature: "signature matches no key of the JWKS"
        case .keysUnavailable(let why): "JWKS unavailable: \(why)"
        }
    }
}

/// FAL's public webhook keys, fetched from `FAL_JWKS_URL` and cached for at most 24 hours.
actor JWKSCache {
    let url: String
    let transport: any HTTPTransport
    let time: TimeSource
    let maxAge: TimeInterval = 24 * 3600
    /// A signature that matches no cached key triggers a refresh, but not more often than this (rotation).
    let minRefreshInterval: TimeInterval = 60
    private var keys: [Curve25519.Signing.PublicKey] = []
    private var fetchedAt: Date?

    init(url: String, transport: any HTTPTransport, time: TimeSource) {
        self.url = url
        self.transport = transport
        self.time = time
    }

    func current() async throws -> [Curve25519.Signing.PublicKey] {
        if let fetchedAt, time.now().timeIntervalSince(fetchedAt) < maxAge, !keys.isEmpty { return keys }
        return try await refresh()
    }

    /// Refetches unless the last fetch is very recent; returns whether the keys may have changed.
    func refreshIfAllowed() async throws -> Bool {
        if let fetchedAt, time.now().timeIntervalSince(fetchedAt) < minRefreshInterval { return false }
        _ = try await refresh()
        return true
    }

    private func refresh() async throws -> [Curve25519.Signing.PublicKey] {
        let response = try await transport.send(OutgoingRequest(url: url, timeout: .seconds(10), maxResponseBytes: 256 * 1024))
        guard response.status == 200, let json = try? JSONValue.parse(response.body) else {
            throw WebhookRejection.keysUnavailable("HTTP \(response.status) from \(url)")
        }
        let parsed = (json["keys"]?.arrayValue ?? []).compactMap { key -> Curve25519.Signing.PublicKey? in
            guard key["kty"]?.stringValue == "OKP", key["crv"]?.stringValue == "Ed25519",
                let x = key["x"]?.stringValue.flatMap({ Data(base64URLEncoded: $0) })
            else { return nil }
            return try? Curve25519.Signing.PublicKey(rawRepresentation: x)
        }
        guard !parsed.isEmpty else { throw WebhookRejection.keysUnavailable("no Ed25519 keys in \(url)") }
        keys = parsed
        fetchedAt = time.now()
        return parsed
    }
}

/// Checks FAL's webhook signature: hex Ed25519 over `request_id\nuser_id\ntimestamp\nhex(sha256(body))`,
/// timestamp within 300 s, against every key of the JWKS.
struct WebhookVerifier: Sendable {
    let keys: JWKSCache
    let time: TimeSource
    let tolerance: TimeInterval = 300

    func verify(requestId: String?, userId: String?, timestamp: String?, signature: String?, body: Data) async -> WebhookRejection? {
        guard let requestId, let userId, let timestamp, let stamp = Int(timestamp), let signature,
            let signatureBytes = Data(hexString: signature)
        else { return .missingHeaders }
        let skew = Int(time.now().timeIntervalSince1970) - stamp
        guard abs(skew) <= Int(tolerance) else { return .staleTimestamp(skewSeconds: skew) }
        let digest = Data(SHA256.hash(data: body)).hexString
        let message = Data("\(requestId)\n\(userId)\n\(timestamp)\n\(digest)".utf8)
        do {
            if try await keys.current().contains(where: { $0.isValidSignature(signatureBytes, for: message) }) { return nil }
            if try await keys.refreshIfAllowed(),
                try await keys.current().contains(where: { $0.isValidSignature(signatureBytes, for: message) })
            {
                return nil
            }
            return .badSignature
        } catch let rejection as WebhookRejection {
            return rejection
        } catch {
            return .keysUnavailable(String(describing: error))
        }
    }
}

/// A training status report, from FAL's webhook body or the legacy short form of the seed's curl.
public struct StatusReport: Sendable, Hashable {
    public var requestId: String
    /// Nil for a progress-only report (legacy `in_progress`).
    public var outcome: TrainingOutcome?

    public init(requestId: String, outcome: TrainingOutcome?) {
        self.requestId = requestId
        self.outcome = outcome
    }

    public enum ParseError: Error, CustomStringConvertible {
        case notAnObject, missingRequestId, unknownStatus(String), legacyNotAllowed

        public var description: String {
            switch self {
            case .notAnObject: "body is not a JSON object"
            case .missingRequestId: "request_id is missing"
            case .unknownStatus(let status): "unknown status '\(status)'"
            case .legacyNotAllowed: "the legacy {status, result} form is accepted only with FAL_WEBHOOK_VERIFY=false"
            }
        }
    }

    /// FAL: `{"request_id","status":"OK","payload":…}` / `{"status":"ERROR","error":…,"payload":{"detail":…}}`.
    /// Legacy (dev only): `{"request_id","status":"completed","result":{"finetune_id":…}}`.
    public static func parse(_ body: JSONValue, allowLegacy: Bool) throws -> StatusReport {
        guard body.objectValue != nil else { throw ParseError.notAnObject }
        guard let requestId = body["request_id"]?.stringValue, !requestId.isEmpty else { throw ParseError.missingRequestId }
        let status = body["status"]?.stringValue ?? ""
        switch status {
        case "OK":
            if body["payload"] == nil || body["payload"] == .null {
                let why = body["payload_error"]?.stringValue ?? "FAL sent no payload"
                return StatusReport(requestId: requestId, outcome: .failed(message: why))
            }
            return StatusReport(requestId: requestId, outcome: outcome(fromOutput: body["payload"] ?? .null))
        case "ERROR":
            return StatusReport(requestId: requestId, outcome: .failed(message: errorMessage(body)))
        default:
            guard allowLegacy else { throw ParseError.legacyNotAllowed }
            switch status.lowercased() {
            case "completed", "succeeded", "success":
                return StatusReport(requestId: requestId, outcome: outcome(fromOutput: body["result"] ?? .null))
            case "failed", "error":
                return StatusReport(requestId: requestId, outcome: .failed(message: errorMessage(body)))
            case "in_progress", "in_queue", "training":
                return StatusReport(requestId: requestId, outcome: nil)
            default:
                throw ParseError.unknownStatus(status)
            }
        }
    }

    /// A trainer's output: `finetune_id` (flux-pro-trainer) or `diffusers_lora_file` (LoRA trainers). An output with
    /// neither is a failure, never a placeholder.
    static func outcome(fromOutput output: JSONValue) -> TrainingOutcome {
        if let finetune = output["finetune_id"]?.stringValue, !finetune.isEmpty { return .finetune(id: finetune) }
        if let weights = output["diffusers_lora_file"]?["url"]?.stringValue, !weights.isEmpty {
            return .lora(weightsURL: weights, configURL: output["config_file"]?["url"]?.stringValue)
        }
        return .failed(message: "FAL's result has neither a finetune_id nor a LoRA file")
    }

    static func errorMessage(_ body: JSONValue) -> String {
        let payload = body["payload"] ?? .null
        if let detail = payload["detail"] {
            if let text = detail.stringValue { return text }
            if let first = detail.arrayValue?.first, let msg = first["msg"]?.stringValue { return msg }
        }
        return body["error"]?.stringValue ?? payload["error"]?.stringValue ?? "training failed"
    }
}
