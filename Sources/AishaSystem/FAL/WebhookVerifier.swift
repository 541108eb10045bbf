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
