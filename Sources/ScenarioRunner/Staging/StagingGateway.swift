import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MockFAL
import NIOCore
import Synchronization
import SupportKit

/// The one server on the forwarded `PORT` of a staging run. FAL reaches every scenario through it:
/// `/s/{scenario}/_proxy/…` goes to that scenario's MockFAL proxy (webhooks, dead archives), any other
/// `/s/{scenario}/…` to its AishaSystem (archive downloads); headers and body pass unchanged. Late webhooks of a
/// finished scenario get 404 instead of reaching another scenario's system.
final class StagingGateway: Sendable {
    struct Route: Sendable {
        let aishaPort: Int
        let proxyPort: Int
        let proxy: FALProxy
    }

    private let routes = Mutex<[String: Route]>([:])
    private let server = Mutex<RunningServer?>(nil)

    static func start(host: String, port: Int) async throws -> StagingGateway {
        let gateway = StagingGateway()
        let quiet = Logger.quiet("staging-gateway")
        let running = try await RunningServer.start(logger: quiet) { onRunning in
            let router = Router()
            router.add(middleware: GatewayMiddleware(gateway: gateway))
            return Application(
                router: router, configuration: .init(address: .hostname(host, port: port), serverName: "aisha-staging"),
                onServerRunning: onRunning, logger: quiet)
        }
        gateway.server.withLock { $0 = running }
        return gateway
    }

    var port: Int { server.withLock { $0?.port ?? 0 } }

    func register(_ scenarioId: String, _ route: Route) { routes.withLock { $0[scenarioId] = route } }
    func unregister(_ scenarioId: String) { routes.withLock { $0[scenarioId] = nil } }
    func proxies() -> [FALProxy] { routes.withLock { $0.values.map(\.proxy) } }

    /// The local URL for a gateway path, or nil when no scenario owns it.
    func local(_ path: String) -> String? {
        let parts = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, parts[1] == "s" else { return nil }
        let rest = parts[2].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let route = routes.withLock({ $0[String(rest[0])] }) else { return nil }
        let tail = "/" + (rest.count > 1 ? String(rest[1]) : "")
        return "http://127.0.0.1:\(tail.hasPrefix("/_proxy/") ? route.proxyPort : route.aishaPort)\(tail)"
    }

    func stop() async {
        let running = server.withLock { $0 }
        await running?.stop()
    }
}

/// Relays every request to the scenario the path names.
private struct GatewayMiddleware<Context: RequestContext>: RouterMiddleware {
    let gateway: StagingGateway
    static var connectionHeaders: Set<String> { ["host", "content-length", "connection", "transfer-encoding", "keep-alive", "expect"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let target = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
        guard let url = gateway.local(target) else {
            return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "no scenario serves \(request.uri.path)\n")))
        }
        let body = try await request.body.collect(upTo: 64 * 1024 * 1024)
        let headers = request.headers.compactMap { field in
            Self.connectionHeaders.contains(field.name.canonicalName) ? nil : (field.name.canonicalName, field.value)
        }
        let answer: IncomingResponse
        do {
            answer = try await AsyncHTTPClientTransport().send(
                OutgoingRequest(
                    method: request.method.rawValue, url: url, headers: headers,
                    body: body.readableBytes > 0 ? Data(body.readableBytesView) : nil, timeout: .seconds(60)))
        } catch {
            return Response(status: .badGateway, body: .init(byteBuffer: ByteBuffer(string: "\(error)\n")))
        }
        var fields = HTTPFields()
        for (name, value) in answer.headers where !Self.connectionHeaders.contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
