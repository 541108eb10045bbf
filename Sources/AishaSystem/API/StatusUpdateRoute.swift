import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SupportKit

/// `POST /api/v1/avatar/status_update?avatar_id=…&attempt=…&training_type=…`: FAL's webhook (signed, verified
/// against the JWKS), or in dev mode (FAL_WEBHOOK_VERIFY=false) also the seed's legacy short form. Idempotent per
/// request id; `avatar_id` and `attempt` (optional) match a report that beats the stored request id.
enum StatusUpdateRoute {
    static let maxBody = 1024 * 1024

    /// A FAL webhook's body, or the answer refusing it (too large, bad signature, not JSON).
    enum Intake {
        case body(JSONValue)
        case refused(Response)
    }

    /// Reads and verifies a FAL webhook (signature checked against the JWKS unless FAL_WEBHOOK_VERIFY=false).
    static func verifiedBody(_ request: Request, services: AishaServices, logger: Logger) async -> Intake {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBody)
        } catch {
            logger.warning("webhook refused: body larger than \(maxBody) bytes")
            services.metrics.webhook(.refusedTooLarge)
            return .refused(Response.json(["detail": "body too large"], status: .contentTooLarge))
        }
        let body = Data(buffer.readableBytesView)
        if services.configuration.falWebhookVerify {
            let header = { (name: String) in HTTPField.Name(name).flatMap { request.headers[$0] } }
            if let rejection = await services.verifier.verify(
                requestId: header("X-Fal-Webhook-Request-Id"), userId: header("X-Fal-Webhook-User-Id"),
                timestamp: header("X-Fal-Webhook-Timestamp"), signature: header("X-Fal-Webhook-Signature"), body: body)
            {
                logger.warning("webhook refused: \(rejection)")
                services.metrics.webhook(Self.outcome(rejection))
                return .refused(Response.json(["detail": .string("invalid webhook signature: \(rejection)")], status: .unauthorized))
            }
        }
        guard let json = try? JSONValue.parse(body) else {
            logger.warning("webhook refused: malformed JSON")
            services.metrics.webhook(.invalidBody)
            return .refused(Response.json(["detail": "malformed JSON body"], status: .badRequest))
        }
        return .body(json)
    }

    static func outcome(_ rejection: WebhookRejection) -> AishaMetrics.WebhookOutcome {
        switch rejection {
        case .missingHeaders: .refusedUnsigned
        case .staleTimestamp: .refusedStale
        case .badSignature: .refusedBadSignature
        case .keysUnavailable: .refusedKeysUnavailable
        }
    }

    static func add<Context: RequestContext>(to router: Router<Context>, services: AishaServices) {
        router.post("api/v1/avatar/status_update") { request, _ in
            var logger = services.logger
            logger[metadataKey: "training_type"] = "\(request.uri.queryParameters["training_type"] ?? "-")"
            let json: JSONValue
            switch await verifiedBody(request, services: services, logger: logger) {
            case .body(let body): json = body
            case .refused(let response): return response
            }
            let verify = services.configuration.falWebhookVerify
            let report: StatusReport
            do {
                report = try StatusReport.parse(json, allowLegacy: !verify)
            } catch {
                logger.warning("webhook refused: \(error)")
                services.metrics.webhook(.invalidBody)
                return Response.json(["detail": .string("\(error)")], status: .unprocessableContent)
            }
            logger[metadataKey: "request_id"] = "\(report.requestId)"
            logger.info("WEBHOOK received")
            let query = request.uri.queryParameters
            let attempt = query["avatar_id"].flatMap { UUID(uuidString: String($0)) }.flatMap { id in
                query["attempt"].flatMap { Int(String($0)) }.map { (avatarId: id, number: $0) }
            }
            switch try await services.results.apply(report, attempt: attempt) {
            case .applied(let avatar)?:
                services.metrics.webhook(.applied)
                return Response.json(["status": "processed", "avatar_id": .string(avatar.id.uuidString.lowercased()), "avatar_status": .string(avatar.status.rawValue)])
            case .alreadyFinal(let avatar)?:
                services.metrics.webhook(.duplicate)
                return Response.json(["status": "already_processed", "avatar_status": .string(avatar.status.rawValue)])
            case .unknownRequest?:
                services.metrics.webhook(.unknownRequest)
                return Response.json(["detail": .string("no training with request_id \(report.requestId)")], status: .notFound)
            case nil:
                return Response.json(["status": "progress_noted"])
            }
        }
    }
}

/// `GET /api/v1/archives/{avatar}/{file}.zip?expires=…&signature=…`: the training archive, for FAL only.
enum ArchiveRoute {
    static func add<Context: RequestContext>(to router: Router<Context>, services: AishaServices) {
        router.get("api/v1/archives/:avatar/:file") { request, context in
            let avatar = context.parameters.get("avatar") ?? ""
            let file = context.parameters.get("file") ?? ""
            let path = "\(avatar)/\(file)"
            let expires = request.uri.queryParameters["expires"].flatMap { Int($0) } ?? 0
            let signature = String(request.uri.queryParameters["signature"] ?? "")
            guard services.signer.verify(path: path, expires: expires, signature: signature, now: services.time.now()) else {
                services.logger.warning("archive download refused: bad or expired signature", metadata: ["path": "\(path)"])
                return Response.json(["detail": "invalid or expired signature"], status: .forbidden)
            }
            do {
                let data = try await services.objects.get(key: "archives/\(path)")
                var headers = HTTPFields()
                headers[.contentType] = "application/zip"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
            } catch {
                return Response.json(["detail": "no such archive"], status: .notFound)
            }
        }
    }
}

/// `POST /telegram/webhook`: updates pushed by Telegram, checked against `TELEGRAM_WEBHOOK_SECRET`.
enum TelegramWebhookRoute {
    static func add<Context: RequestContext>(to router: Router<Context>, services: AishaServices) {
        router.post("telegram/webhook") { request, _ in
            let expected = services.configuration.telegramWebhookSecret
            let given = HTTPField.Name("X-Telegram-Bot-Api-Secret-Token").flatMap { request.headers[$0] }
            guard let expected, given == expected else {
                services.logger.warning("telegram webhook refused: wrong secret token")
                return Response.json(["detail": "wrong secret token"], status: .unauthorized)
            }
            let body = try await request.body.collect(upTo: 1024 * 1024)
            guard let update = try? TelegramUpdate.decoder().decode(TelegramUpdate.self, from: Data(body.readableBytesView)) else {
                return Response.json(["detail": "malformed update"], status: .badRequest)
            }
            await services.conversation.handle(update)
            return Response.json(["ok": true])
        }
    }
}
