import Foundation
import Hummingbird
import SupportKit

/// `POST /api/v1/generation/status_update?generation_id=…`: FAL's webhook for a generation, verified like the
/// training one; idempotent (a duplicate is answered `already_processed` and changes nothing).
enum GenerationStatusRoute {
    static func add<Context: RequestContext>(to router: Router<Context>, services: AishaServices) {
        router.post("api/v1/generation/status_update") { request, _ in
            var logger = services.logger
            let json: JSONValue
            switch await StatusUpdateRoute.verifiedBody(request, services: services, logger: logger) {
            case .body(let body): json = body
            case .refused(let response): return response
            }
            let report: GenerationReport
            do {
                report = try GenerationReport.webhook(json)
            } catch {
                logger.warning("generation webhook refused: \(error)")
                services.metrics.webhook(.invalidBody)
                return Response.json(["detail": .string("\(error)")], status: .unprocessableContent)
            }
            logger[metadataKey: "request_id"] = "\(report.requestId)"
            logger.info("generation WEBHOOK received")
            let id = request.uri.queryParameters["generation_id"].flatMap { UUID(uuidString: String($0)) }
            switch try await services.generation.apply(report, generationId: id) {
            case .applied(let status):
                services.metrics.webhook(.applied)
                return Response.json(["status": "processed", "generation_status": .string(status.rawValue)])
            case .alreadyFinal:
                services.metrics.webhook(.duplicate)
                return Response.json(["status": "already_processed"])
            case .unknown:
                services.metrics.webhook(.unknownRequest)
                return Response.json(["detail": .string("no generation with request_id \(report.requestId)")], status: .notFound)
            }
        }
    }
}
