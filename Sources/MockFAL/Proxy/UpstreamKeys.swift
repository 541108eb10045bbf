import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// Why the proxy did not accept an upstream webhook's signature.
enum SignatureProblem: Error, Sendable, Hashable, CustomStringConvertible {
    case unsigned
    case stale(seconds: Int)
    case badSignature
    case keysUnavailable(String)

    var description: String {
        switch self {
        case .unsigned: "unsigned (no X-Fal-Webhook-* headers)"
        case .stale(let seconds): "timestamp \(seconds) s off"
        case .badSignature: "signature matches no key of the upstream JWKS"
        case .keysUnavailable(let why): "upstream JWKS unavailable: \(why)"
        }
    }
}

/// The upstream's webhook keys (its JWKS), fetched when first needed, kept ≤ 24 h and fetched again when a
/// signature matches none of them (key rotation).
actor UpstreamKeys {
    let url: String
    let transport: any HTTPTransport
    let time: TimeSource
    private var keys: [Curve25519.Signing.PublicKey] = []
    private var fetchedAt: Date?

    init(url: String, transport: any HTTPTransport, time: TimeSource) {
        self.url = url
        self.transport = transport
        self.time = time
    }

    /// Checks FAL's headers against the body: the timestamp within 300 s, the signature by one of the keys.
    func verify(headers: [(String, String)], body: Data) async -> SignatureProblem? {
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
        guard let requestId = header("x-fal-webhook-request-id"), let userId = header("x-fal-webhook-user-id"),
            let stamp = header("x-fal-webhook-timestamp").flatMap({ Int($0) }), let signatureHex = header("x-fal-webhook-signature"),
            let signature = Data(hexString: signatureHex)
        else { return .unsigned }
        let offset = Int(time.now().timeIntervalSince1970) - stamp
        guard abs(offset) <= 300 else { return .stale(seconds: offset) }
        let message = WebhookKeyRing.signedMessage(requestId: requestId, userId: userId, timestamp: stamp, body: body)
        for refresh in [false, true] {
            if refresh || keys.isEmpty || (fetchedAt.map { time.now().timeIntervalSince($0) > 86_400 } ?? true) {
                if let problem = await fetch() { return problem }
            }
            if keys.contains(where: { $0.isValidSignature(signature, for: message) }) { return nil }
        }
        return .badSignature
    }

    private func fetch() async -> SignatureProblem? {
        do {
            let response = try await transport.send(OutgoingRequest(url: url, timeout: .seconds(15), maxResponseBytes: 1024 * 1024))
            guard response.status == 200, let list = try JSONValue.parse(response.body)["keys"]?.arrayValue else {
                return .keysUnavailable("HTTP \(response.status) from \(url)")
            }
            keys = list.compactMap { key in
                guard key["crv"]?.stringValue == "Ed25519", let x = key["x"]?.stringValue, let raw = Data(base64URLEncoded: x) else { return nil }
                return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            }
            fetchedAt = time.now()
            return nil
        } catch {
            return .keysUnavailable("\(error) (\(url))")
        }
    }
}
