import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// The Ed25519 keys MockFAL signs webhooks with, published as a JWKS like FAL's.
public struct WebhookKeyRing: Sendable {
    private var keys: [Curve25519.Signing.PrivateKey]

    /// Keys derived from the seed, so a seed reproduces the same JWKS.
    public init(seed: UInt64) {
        keys = [Self.key(seed: seed, generation: 0)]
    }

    /// Adds a new signing key; older keys stay published (as FAL does during rotation) unless `retireOld`.
    public mutating func rotate(seed: UInt64, retireOld: Bool = false) {
        let next = Self.key(seed: seed, generation: UInt64(keys.count))
        keys = retireOld ? [next] : keys + [next]
    }

    /// `{"keys":[{"kty":"OKP","crv":"Ed25519","x":…}]}`
    public var jwks: JSONValue {
        .object([
            "keys": .array(
                keys.map { key in
                    [
                        "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                        "x": .string(key.publicKey.rawRepresentation.base64URLEncoded),
                    ]
                })
        ])
    }

    /// FAL's signature headers for a body: hex Ed25519 over `request_id\nuser_id\ntimestamp\nhex(sha256(body))`.
    public func headers(requestId: String, userId: String, timestamp: Int, body: Data) -> [(String, String)] {
        let message = Self.signedMessage(requestId: requestId, userId: userId, timestamp: timestamp, body: body)
        let signature = (try? keys[keys.count - 1].signature(for: message)) ?? Data()
        return [
            ("X-Fal-Webhook-Request-Id", requestId),
            ("X-Fal-Webhook-User-Id", userId),
            ("X-Fal-Webhook-Timestamp", String(timestamp)),
            ("X-Fal-Webhook-Signature", signature.hexString),
        ]
    }

    public static func signedMessage(requestId: String, userId: String, timestamp: Int, body: Data) -> Data {
        let digest = Data(SHA256.hash(data: body)).hexString
        return Data("\(requestId)\n\(userId)\n\(timestamp)\n\(digest)".utf8)
    }

    private static func key(seed: UInt64, generation: UInt64) -> Curve25519.Signing.PrivateKey {
        var random = SeededRandom(seed: seed &+ generation &* 0x5851_F42D_4C95_7F2D)
        let bytes = (0..<4).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } }
        // 32 bytes always form a valid Ed25519 seed.
        return (try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes)) ?? Curve25519.Signing.PrivateKey()
    }
}
