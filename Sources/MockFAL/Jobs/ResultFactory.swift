#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// Builds a successful job's output in the shape its contract names, with file URLs this server serves.
enum ResultFactory {
    static func output(for job: Job) -> JSONValue {
        switch job.contract.result.kind {
        case .finetune:
            return ["finetune_id": .string(finetuneId(for: job.id))]
        case .lora:
            return [
                "diffusers_lora_file": file(job, name: "pytorch_lora_weights.safetensors", type: "application/octet-stream"),
                "config_file": file(job, name: "config.json", type: "application/json"),
            ]
        case .images:
            let count = job.contract.result.countField.flatMap { job.effectiveInput[$0]?.intValue } ?? 1
            let (width, height) = imageSize(job.effectiveInput)
            let images: [JSONValue] = (0..<max(1, count)).map { index in
                [
                    "url": .string("\(job.baseURL)/files/\(job.id)/image_\(index).png"),
                    "width": .int(width), "height": .int(height), "content_type": "image/png",
                ]
            }
            return [
                "images": .array(images),
                "seed": job.effectiveInput["seed"].flatMap { $0 == .null ? nil : $0 } ?? .int(seedValue(job.id)),
                "prompt": job.effectiveInput["prompt"] ?? "",
                "has_nsfw_concepts": .array((0..<max(1, count)).map { .bool(job.fault.nsfwImages?.contains($0) == true) }),
                "timings": ["inference": .double(Double(job.totalSteps) * 0.05)],
            ]
        }
    }

    /// Bytes served for a result file name.
    static func fileContents(job: Job, name: String) -> (Data, String)? {
        switch name {
        case "pytorch_lora_weights.safetensors":
            return (loraWeights(job), "application/octet-stream")
        case "config.json":
            let config: JSONValue = ["request_id": .string(job.id), "app_id": .string(job.appId), "input": job.effectiveInput]
            return ((try? config.jsonData()) ?? Data(), "application/json")
        default:
            guard name.hasPrefix("image_"), name.hasSuffix(".png"), job.contract.result.kind == .images else { return nil }
            let (width, height) = imageSize(job.effectiveInput)
            return (PNGEncoder.bilevel(width: width, height: height, seed: UInt64(seedValue(job.id))), "image/png")
        }
    }

    private static func file(_ job: Job, name: String, type: String) -> JSONValue {
        let size = fileContents(job: job, name: name)?.0.count ?? 0
        return [
            "url": .string("\(job.baseURL)/files/\(job.id)/\(name)"), "content_type": .string(type),
            "file_name": .string(name), "file_size": .int(size),
        ]
    }

    /// A small, well-formed safetensors file (header only) naming the job.
    private static func loraWeights(_ job: Job) -> Data {
        let header = Data(#"{"__metadata__":{"request_id":"\#(job.id)","format":"mock"}}"#.utf8)
        var data = Data()
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(header)
        return data
    }

    static func finetuneId(for requestId: String) -> String { "ft-\(requestId.prefix(18))" }

    private static func seedValue(_ id: String) -> Int { Int(id.utf8.reduce(UInt32(7)) { $0 &* 31 &+ UInt32($1) } % 1_000_000) }

    private static func imageSize(_ input: JSONValue) -> (Int, Int) {
        if let size = input["image_size"], let w = size["width"]?.intValue, let h = size["height"]?.intValue { return (w, h) }
        let named: [String: (Int, Int)] = [
            "square_hd": (1024, 1024), "square": (512, 512), "portrait_4_3": (768, 1024), "portrait_16_9": (576, 1024),
            "landscape_4_3": (1024, 768), "landscape_16_9": (1024, 576),
        ]
        if let name = input["image_size"]?.stringValue, let size = named[name] { return size }
        let ratios: [String: (Int, Int)] = [
            "21:9": (2048, 878), "16:9": (2048, 1152), "4:3": (2048, 1536), "3:2": (2048, 1365), "1:1": (2048, 2048),
            "2:3": (1365, 2048), "3:4": (1536, 2048), "9:16": (1152, 2048), "9:21": (878, 2048),
        ]
        return input["aspect_ratio"]?.stringValue.flatMap { ratios[$0] } ?? (1024, 1024)
    }
}
