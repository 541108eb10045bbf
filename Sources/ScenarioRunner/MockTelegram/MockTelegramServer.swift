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
        for (key, value) in request.uri.queryParameters { params[String(key)] = Self.typed(String(value)) }
        let contentType = request.headers[.contentType] ?? ""
        params.merge(Self.parameters(Data(body.readableBytesView), contentType: contentType)) { _, body in body }
        let (status, answer) = await world.call(token: String(segments[0].dropFirst(3)), method: segments[1], params)
        return jsonResponse(status, answer)
    }

    private func jsonResponse(_ status: Int, _ body: JSONValue) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: (try? body.jsonData()) ?? Data())))
    }

    /// Decodes a JSON, urlencoded or multipart body into parameters. Form values are strings; numbers and JSON
    /// objects are recognised so `chat_id=42` and `reply_markup={"inline_keyboard":…}` work as Telegram accepts them.
    static func parameters(_ body: Data, contentType: String) -> [String: JSONValue] {
        guard !body.isEmpty else { return [:] }
        if contentType.contains("application/json") { return (try? JSONValue.parse(body))?.objectValue ?? [:] }
        var fields: [(String, String)] = []
        if contentType.contains("multipart/form-data"), let boundary = contentType.components(separatedBy: "boundary=").last {
            fields = multipart(body, boundary: boundary.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        } else {
            var components = URLComponents()
            components.percentEncodedQuery = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "+", with: "%20")
            fields = (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }
        }
        var params: [String: JSONValue] = [:]
        for (name, value) in fields { params[name] = typed(value) }
        return params
    }

    /// A form or query value as Telegram reads it: numbers, booleans and JSON objects are recognised.
    static func typed(_ value: String) -> JSONValue {
        if let number = Int(value) { return .int(number) }
        if value.hasPrefix("{") || value.hasPrefix("["), let json = try? JSONValue.parse(Data(value.utf8)) { return json }
        if value == "true" || value == "false" { return .bool(value == "true") }
        return .string(value)
    }

    /// The text fields of a multipart/form-data body (file parts are skipped).
    static func multipart(_ body: Data, boundary: String) -> [(String, String)] {
        let text = String(decoding: body, as: UTF8.self)
        var fields: [(String, String)] = []
        for part in text.components(separatedBy: "--\(boundary)") {
            guard let split = part.range(of: "\r\n\r\n") else { continue }
            let head = part[..<split.lowerBound]
            guard let nameRange = head.range(of: "name=\""), !head.contains("filename=") else { continue }
            let name = head[nameRange.upperBound...].prefix { $0 != "\"" }
            var value = String(part[split.upperBound...])
            if value.hasSuffix("\r\n") { value.removeLast(1) }
            fields.append((String(name), value))
        }
        return fields
    }
}
