import Foundation
import NIOCore
import Synchronization

/// The base URL FAL uses to reach this server (webhook, archives). Fixed by `PUBLIC_BASE_URL`, or learnt from the
/// bound address once the server runs (so `PORT=0` works in tests and scenario runs).
public final class PublicEndpoint: Sendable {
    private let value: Mutex<String>
    /// False when `PUBLIC_BASE_URL` was given: the bound address then never replaces it.
    let learnsFromServer: Bool

    init(configured: String?, host: String, port: Int) {
        value = Mutex(Self.trimmed(configured ?? "http://\(host):\(port)"))
        learnsFromServer = configured == nil
    }

    public var url: String { value.withLock { $0 } }

    /// Called when the server is bound.
    func learn(from channel: any Channel) {
        guard learnsFromServer, let address = channel.localAddress, let ip = address.ipAddress, let port = address.port else { return }
        let host = ip.contains(":") ? "[\(ip)]" : ip
        value.withLock { $0 = "http://\(host):\(port)" }
    }

    private static func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }
}
