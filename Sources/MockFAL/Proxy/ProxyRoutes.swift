#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import NIOCore

/// The proxy's own routes, reached by the upstream: webhook deliveries and the dead archive URL an archive fault
/// hands FAL.
enum ProxyRoutes {
    static func add<Context: RequestContext>(to router: Router<Context>, proxy: FALProxy) {
        router.post("_proxy/webhooks/:hook") { request, context in
            let body = try await request.body.collect(upTo: 16 * 1024 * 1024)
            let headers = request.headers.map { ($0.name.canonicalName, $0.value) }
            let status = await proxy.receiveWebhook(
                hook: context.parameters.get("hook") ?? "", headers: headers, body: Data(body.readableBytesView))
            return Response.json(["status": .int(status)], status: status)
        }
        router.get("_proxy/dead-archive/:name") { _, _ in
            Response.json(["detail": "archive withheld by the mock-fal proxy (archive_fetch_failure fault)"], status: 404)
        }
    }
}
