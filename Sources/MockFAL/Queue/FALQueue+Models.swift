#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// The models generation apps may use: MockFAL is stateful across apps. A `finetune_id` is accepted only if one of
/// MockFAL's own trainings produced it (or it was registered through `/_mock/models`), a LoRA `path` only if it is a
/// LoRA file MockFAL served for a finished training (or registered). Modelled as FAL's 422 at submit, naming the field;
/// the real FAL answers an unknown finetune at submit and fails a job whose LoRA it cannot download.
extension FALQueue {
    /// Registers a model made elsewhere (a `finetune_id`, or a LoRA file URL).
    public func registerModel(finetuneId: String?, loraURL: String?) {
        if let finetuneId { registeredModels.insert(finetuneId) }
        if let loraURL { registeredModels.insert(loraURL) }
    }

    /// The finetune ids and LoRA file URLs generation may use now.
    public func knownModels() -> Set<String> {
        var known = registeredModels
        for job in jobs.values {
            guard case .succeeded(let output) = job.phase else { continue }
            if let id = output["finetune_id"]?.stringValue { known.insert(id) }
            if let url = output["diffusers_lora_file"]?["url"]?.stringValue { known.insert(url) }
        }
        return known
    }

    /// Problems with the models an input names, as FAL's validation details.
    func modelProblems(_ input: JSONValue) -> [ValidationProblem] {
        var problems: [ValidationProblem] = []
        let known = knownModels()
        if let id = input["finetune_id"]?.stringValue, !known.contains(id) {
            problems.append(ValidationProblem(loc: ["body", "finetune_id"], msg: "Finetune '\(id)' not found", type: "value_error.not_found", input: .string(id)))
        }
        for (index, lora) in (input["loras"]?.arrayValue ?? []).enumerated() {
            guard let path = lora["path"]?.stringValue, !known.contains(path) else { continue }
            problems.append(
                ValidationProblem(
                    loc: ["body", "loras", .int(index), "path"], msg: "Could not download LoRA weights from '\(path)'", type: "value_error.download",
                    input: .string(path)))
        }
        return problems
    }
}
