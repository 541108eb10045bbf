import SupportKit

/// The outcome of a training as FAL reported it (webhook or poll).
public enum TrainingOutcome: Sendable, Hashable {
    case finetune(id: String)
    case lora(weightsURL: String, configURL: String?)
    case failed(message: String)
}

/// A training status report, from FAL's webhook body or the legacy short form of the seed's curl.
public struct StatusReport: Sendable, Hashable {
    public var requestId: String
    /// Nil for a progress-only report (legacy `in_progress`).
    public var outcome: TrainingOutcome?

    public init(requestId: String, outcome: TrainingOutcome?) {
        self.requestId = requestId
        self.outcome = outcome
    }

    public enum ParseError: Error, CustomStringConvertible {
        case notAnObject, missingRequestId, unknownStatus(String), legacyNotAllowed

        public var description: String {
            switch self {
            case .notAnObject: "body is not a JSON object"
            case .missingRequestId: "request_id is missing"
            case .unknownStatus(let status): "unknown status '\(status)'"
            case .legacyNotAllowed: "the legacy {status, result} form is accepted only with FAL_WEBHOOK_VERIFY=false"
            }
        }
    }

    /// FAL: `{"request_id","status":"OK","payload":…}` / `{"status":"ERROR","error":…,"payload":{"detail":…}}`.
    /// Legacy (dev only): `{"request_id","status":"completed","result":{"finetune_id":…}}`.
    public static func parse(_ body: JSONValue, allowLegacy: Bool) throws -> StatusReport {
        guard body.objectValue != nil else { throw ParseError.notAnObject }
        guard let requestId = body["request_id"]?.stringValue, !requestId.isEmpty else { throw ParseError.missingRequestId }
        let status = body["status"]?.stringValue ?? ""
        switch status {
        case "OK":
            if body["payload"] == nil || body["payload"] == .null {
                let why = body["payload_error"]?.nonEmptyString ?? "FAL sent no payload"
                return StatusReport(requestId: requestId, outcome: .failed(message: why))
            }
            return StatusReport(requestId: requestId, outcome: outcome(fromOutput: body["payload"] ?? .null))
        case "ERROR":
            return StatusReport(requestId: requestId, outcome: .failed(message: errorMessage(body)))
        default:
            guard allowLegacy else { throw ParseError.legacyNotAllowed }
            switch status.lowercased() {
            case "completed", "succeeded", "success":
                return StatusReport(requestId: requestId, outcome: outcome(fromOutput: body["result"] ?? .null))
            case "failed", "error":
                return StatusReport(requestId: requestId, outcome: .failed(message: errorMessage(body)))
            case "in_progress", "in_queue", "training":
                return StatusReport(requestId: requestId, outcome: nil)
            default:
                throw ParseError.unknownStatus(status)
            }
        }
    }

    /// A trainer's output: `finetune_id` (flux-pro-trainer) or `diffusers_lora_file` (LoRA trainers). An output with
    /// neither is a failure, never a placeholder.
    static func outcome(fromOutput output: JSONValue) -> TrainingOutcome {
        if let finetune = output["finetune_id"]?.stringValue, !finetune.isEmpty { return .finetune(id: finetune) }
        if let weights = output["diffusers_lora_file"]?["url"]?.stringValue, !weights.isEmpty {
            return .lora(weightsURL: weights, configURL: output["config_file"]?["url"]?.stringValue)
        }
        return .failed(message: "FAL's result has neither a finetune_id nor a LoRA file")
    }

    static func errorMessage(_ body: JSONValue) -> String {
        let payload = body["payload"] ?? .null
        if let detail = payload["detail"] {
            if let text = detail.nonEmptyString { return text }
            if let first = detail.arrayValue?.first, let msg = first["msg"]?.nonEmptyString { return msg }
        }
        return body["error"]?.nonEmptyString ?? payload["error"]?.nonEmptyString ?? "training failed"
    }
}

private extension JSONValue {
    /// A string with something in it: an empty reason is no reason to show a user.
    var nonEmptyString: String? { stringValue.flatMap { $0.isEmpty ? nil : $0 } }
}
