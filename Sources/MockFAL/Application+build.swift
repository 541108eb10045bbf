#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Logging
import NIOCore
import SupportKit

/// Builds the MockFAL HTTP application around a fresh queue.
public func buildApplication(_ configuration: MockFALConfiguration) -> some ApplicationProtocol {
    buildApplication(configuration, queue: FALQueue(configuration: configuration))
}

/// Builds the MockFAL HTTP application around `queue` (the scenario runner keeps the queue to inspect it); with
/// `proxy`, the queue API is answered by the real FAL behind it and `queue` keeps the journal and faults.
public func buildApplication(
    _ configuration: MockFALConfiguration, queue: FALQueue, proxy: FALProxy? = nil, logger: Logger = Logger(label: "mock-fal"),
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let backend: any QueueBackend = proxy ?? queue
    let router = Router()
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: QueueMiddleware(queue: backend, time: configuration.time, maxBodyBytes: 10 * 1024 * 1024))
    if let proxy { ProxyRoutes.add(to: router, proxy: proxy) }
    router.get("health") { _, _ in Response.json(["status": "ok"]) }
    router.get("metrics") { _, _ in
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: await queue.metricsExposition())))
    }
    router.get(".well-known/jwks.json") { _, _ in Response.json(await queue.keyRing.jwks) }
    router.get("files/:id/:name") { _, context in
        guard let id = context.parameters.get("id"), let name = context.parameters.get("name"),
            let (data, type) = await queue.file(requestId: id, name: name)
        else { throw HTTPError(.notFound, message: "no such file") }
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
    ControlRoutes.add(to: router, queue: queue, backend: backend)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "mock-fal"),
        onServerRunning: onServerRunning,
        logger: logger)
}
