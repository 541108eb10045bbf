import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SupportKit

/// Builds AishaSystem's HTTP application (webhook API, archive downloads, Telegram webhook, health) with its
/// background services (notifier, poller, Telegram polling) from the configuration.
public func buildApplication(_ configuration: AishaConfiguration) async throws -> some ApplicationProtocol {
    buildApplication(try await AishaServices.make(configuration))
}

/// Builds the application around already wired services (tests and the scenario runner keep them).
/// `backgroundServices: false` serves HTTP only: the caller drives the notifier and poller itself (benchmarks).
public func buildApplication(
    _ services: AishaServices, backgroundServices runsBackground: Bool = true,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: CountedWorkMiddleware(time: services.time))
    router.get("health") { _, _ in
        _ = try await services.store.setting("health")
        return Response.json(["status": "ok"])
    }
    router.get("health/ready") { _, _ in try await readiness(services) }
    router.get("metrics") { _, _ in
        // The outbox and the ledger are read now; the counters are kept as things happen.
        if let stats = try? await services.store.operationalStats(now: services.time.now()) { services.metrics.record(stats) }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: services.metrics.exposition())))
    }
    let configuration = services.configuration
    if configuration.role.runsAPI {
        StatusUpdateRoute.add(to: router, services: services)
        GenerationStatusRoute.add(to: router, services: services)
        ArchiveRoute.add(to: router, services: services)
    }
    if configuration.role.runsBot { TelegramWebhookRoute.add(to: router, services: services) }
    let (listening, listens) = AsyncStream<Activity.Token?>.makeStream()
    var running: [any Service] = runsBackground ? backgroundServices(services) : []
    let registers = configuration.role.runsBot && configuration.telegramMode == .webhook
    if registers { running.append(TelegramWebhookRegistration(services: services, listening: listening)) }
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "aisha"),
        services: running,
        onServerRunning: { channel in
            services.endpoint.learn(from: channel)
            if registers { listens.yield(services.time.hold()) }
            listens.finish()
            await onServerRunning(channel)
        },
        logger: services.logger)
}

private func backgroundServices(_ services: AishaServices) -> [any Service] {
    let role = services.configuration.role
    var list: [any Service] = role.runsAPI ? [services.notifier, services.poller] : []
    if role.runsBot, services.configuration.telegramMode == .polling {
        list.append(
            TelegramPolling(
                telegram: services.telegram, store: services.store, conversation: services.conversation, time: services.time,
                logger: services.logger))
    }
    return list
}

/// Each request is counted work on the time source: virtual time waits for the webhook or update being handled.
struct CountedWorkMiddleware<Context: RequestContext>: RouterMiddleware {
    let time: TimeSource

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await time.work { try await next(request, context) }
    }
}

extension Response {
    /// A JSON response.
    static func json(_ body: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let data = (try? body.jsonData()) ?? Data("null".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// `GET /health/ready`: 200 when the database answers and the object store takes a write, else 503 naming what is
/// down (a load balancer stops sending traffic; `/health` stays the liveness check).
func readiness(_ services: AishaServices) async throws -> Response {
    var down: [String: JSONValue] = [:]
    do {
        _ = try await services.store.setting("health")
    } catch {
        down["database"] = .string(String(describing: error))
    }
    do {
        try await services.objects.put(Data("ready".utf8), key: "health/ready")
    } catch {
        down["object_store"] = .string(String(describing: error))
    }
    guard down.isEmpty else { return Response.json(["status": "not_ready", "down": .object(down)], status: .serviceUnavailable) }
    return Response.json(["status": "ready"])
}
