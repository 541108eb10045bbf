#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import Hummingbird
import NIOCore
import SupportKit

/// Serves FAL's queue API (`/{app_id}`, `/{owner}/{app}/requests/{id}[/status|/cancel]`). App ids have a variable
/// number of segments, so this is a middleware in front of the router rather than a set of routes; paths that
/// belong to the control API, files, health or JWKS pass through to the router.
struct QueueMiddleware<Context: RequestContext>: RouterMiddleware {
    let queue: any QueueBackend
    let time: TimeSource
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let reserved = ["/_mock", "/_proxy/", "/files/", "/health", "/metrics", "/.well-known/"]
        guard !reserved.contains(where: { path.hasPrefix($0) }), path != "/" else {
            return try await next(request, context)
        }
        let segments = path.split(separator: "/").map(String.init)
        let authorization = request.headers[.authorization]
        let reply: QueueReply
        if let index = segments.lastIndex(of: "requests"), index >= 2, index + 1 < segments.count {
            let prefix = segments[..<index].joined(separator: "/")
            let id = segments[index + 1]
            let rest = segments[(index + 2)...]
            switch (request.method, Array(rest)) {
            case (.get, ["status"]):
                let logs = request.uri.queryParameters["logs"].map { ["1", "true"].contains($0.lowercased()) } ?? false
                reply = await queue.status(prefix: prefix, requestId: id, logs: logs, authorization: authorization)
            case (.get, []):
                reply = await queue.result(prefix: prefix, requestId: id, authorization: authorization)
            case (.put, ["cancel"]):
                reply = await queue.cancel(prefix: prefix, requestId: id, authorization: authorization)
            default:
                reply = .detail(405, "Method \(request.method) not allowed on \(path)")
            }
        } else if request.method == .post, segments.count >= 2 {
            let body = try await request.body.collect(upTo: maxBodyBytes)
            let webhook = request.uri.queryParameters["fal_webhook"].map(String.init)  // already percent-decoded
            let base = "http://\(request.head.authority ?? "127.0.0.1")"
            let falHeaders = request.headers.compactMap { field in
                field.name.canonicalName.hasPrefix("x-fal-") ? (field.name.canonicalName, field.value) : nil
            }
            reply = await queue.submit(
                path: path, body: Data(body.readableBytesView), webhookURL: webhook, baseURL: base,
                authorization: authorization, headers: falHeaders)
        } else {
            return try await next(request, context)
        }
        if let delay = reply.delay { try await time.sleep(for: delay) }
        return reply.response
    }
}

extension QueueReply {
    /// The HTTP response: the upstream's own bytes when relayed, else the JSON body.
    var response: Response {
        guard let raw else { return Response.json(body, status: status, headers: headers) }
        var fields = HTTPFields()
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: raw)))
    }
}

extension Response {
    /// A JSON response with extra headers.
    static func json(_ body: JSONValue, status: Int = 200, headers extra: [(String, String)] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        for (name, value) in extra {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let data = (try? body.jsonData()) ?? Data("null".utf8)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
