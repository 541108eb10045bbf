import Foundation
import SupportKit

/// FAL's webhook body as AishaSystem reads it: JSON, then StatusReport.parse, in FAL's form and in the legacy one.
/// A report always names a non-empty request id; a success always carries a non-empty result.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStatusReport(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let body = try? JSONValue.parse(Data(bytes: start, count: count)) else { return 0 }
    for allowLegacy in [false, true] {
        guard let report = try? StatusReport.parse(body, allowLegacy: allowLegacy) else { continue }
        precondition(!report.requestId.isEmpty, "a report without a request id from \(body)")
        switch report.outcome {
        case .finetune(let id)?: precondition(!id.isEmpty, "an empty finetune id from \(body)")
        case .lora(let weights, _)?: precondition(!weights.isEmpty, "empty LoRA weights from \(body)")
        case .failed(let message)?: precondition(!message.isEmpty, "a failure without a message from \(body)")
        case nil: precondition(allowLegacy, "a progress-only report in FAL's form from \(body)")
        }
    }
    return 0
}
