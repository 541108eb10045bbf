import Foundation
import Hummingbird
import Logging
import NIOCore
import SupportKit

/// The mock Telegram Bot API over HTTP: `{base}/bot<token>/<method>` (GET or POST; query, urlencoded, JSON or
/// multipart parameters) and `{base}/file/bot<token>/<path>`. Real bot libraries work against it unchanged.
public enum MockTelegramServer {
    public static func buildApplication(
        world: TelegramWorld, host: String = "127.0.0.1", port: Int = 0, logger: Logger = Logger(label: "mock-telegram"),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: BotAPIMiddleware(world: world))
        router.get("health") { _, _ in "ok" }
        MockTelegramControl.add(to: router, world: world)
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "mock-telegram"),
            onServerRunning: onServerRunning, logger: logger)
    }
}

/// Routes `/bot<token>/<method>` and `/file/bot<token>/<path>`; token and method come from the path.
struct BotAPIMiddleware<Context: RequestContext>: RouterMiddleware {
    let world: TelegramWorld

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if segments.count >= 3, segments[0] == "file", segments[1].hasPrefix("bot") {
            let path = segments[2...].joined(separator: "/")
            guard let data = await world.file(token: String(segments[1].dropFirst(3)), path: path) else {
                return jsonResponse(404, ["ok": false, "error_code": 404, "description": "Not Found"])
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        guard segments.count == 2, segments[0].hasPrefix("bot"), segments[0] != "_mock" else { return try await next(request, context) }
        let body = try await request.body.collect(upTo: 60 * 1024 * 1024)
        var params: [String: JSONValue] = [:]
        for (key, value) in request.uri.queryParameters { params[String(key)] = BotAPIBody.typed(String(value)) }
        let contentType = request.headers[.contentType] ?? ""
        params.merge(BotAPIBody.parameters(Data(body.readableBytesView), contentType: contentType)) { _, body in body }
        let (status, answer) = await world.call(token: String(segments[0].dropFirst(3)), method: segments[1], params)
        return jsonResponse(status, answer)
    }

    private func jsonResponse(_ status: Int, _ body: JSONValue) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: (try? body.jsonData()) ?? Data())))
    }
}
