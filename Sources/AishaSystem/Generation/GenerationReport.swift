import Foundation
import SupportKit

/// FAL's answer to a generation (webhook or result): the images it made, which its safety checker flagged, or why
/// nothing came back.
public struct GenerationReport: Sendable, Hashable {
    public struct Image: Sendable, Hashable {
        public var url: String
        public var nsfw: Bool
    }

    public var requestId: String
    /// Nil when FAL reports an error.
    public var images: [Image]?
    public var error: String?

    /// `{"request_id","status":"OK","payload":{"images":[{"url",…}],"has_nsfw_concepts":[…]}}` or
    /// `{"request_id","status":"ERROR","error":…,"payload":{"detail":…}}`.
    public static func webhook(_ body: JSONValue) throws -> GenerationReport {
        guard let requestId = body["request_id"]?.stringValue, !requestId.isEmpty else { throw StatusReport.ParseError.missingRequestId }
        switch body["status"]?.stringValue ?? "" {
        case "OK": return result(requestId: requestId, body["payload"] ?? .null)
        case "ERROR": return GenerationReport(requestId: requestId, images: nil, error: StatusReport.errorMessage(body))
        case let other: throw StatusReport.ParseError.unknownStatus(other)
        }
    }

    /// A result body (`GET …/requests/{id}`, or a webhook's payload).
    public static func result(requestId: String, _ payload: JSONValue) -> GenerationReport {
        let flags = payload["has_nsfw_concepts"]?.arrayValue ?? []
        let images = (payload["images"]?.arrayValue ?? []).enumerated().compactMap { index, image -> Image? in
            guard let url = image["url"]?.stringValue else { return nil }
            return Image(url: url, nsfw: index < flags.count && flags[index] == true)
        }
        return GenerationReport(requestId: requestId, images: images, error: images.isEmpty ? "FAL returned no images" : nil)
    }
}
