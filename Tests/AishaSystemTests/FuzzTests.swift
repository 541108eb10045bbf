import AishaSystem
import Foundation
import MockFAL
import SupportKit
import Testing

/// Seeded, bounded fuzzing of the decoders that face the network: whatever arrives, they answer or refuse, never crash.
@Suite("Fuzz: webhook and Telegram update decoders")
struct FuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["AISHA_FUZZ_ITERATIONS"] ?? "") ?? 3000

    static let webhookSeeds = [
        #"{"request_id":"r","gateway_request_id":"r","status":"OK","payload":{"finetune_id":"f"}}"#,
        #"{"request_id":"r","status":"OK","payload":{"diffusers_lora_file":{"url":"u"},"config_file":{"url":"c"}}}"#,
        #"{"request_id":"r","status":"ERROR","error":"Invalid status code: 422","payload":{"detail":[{"loc":["body","x"],"msg":"m","type":"t"}]}}"#,
        #"{"request_id":"test_style","status":"completed","result":{"finetune_id":"test123"}}"#,
        #"{"request_id":"r","status":"OK","payload":null,"payload_error":"unserialisable"}"#,
    ]

    static let updateSeeds = [
        #"{"update_id":1,"message":{"message_id":1,"date":0,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"A"},"text":"/start"}}"#,
        #"{"update_id":2,"callback_query":{"id":"c","from":{"id":5,"first_name":"A"},"chat_instance":"i","data":"go:abc","message":{"message_id":3,"date":0,"chat":{"id":5}}}}"#,
        #"{"update_id":3,"message":{"message_id":2,"date":0,"chat":{"id":5},"photo":[{"file_id":"f","width":10,"height":10}],"media_group_id":"g"}}"#,
    ]

    /// Mutations: flip, drop, duplicate or insert bytes; cut; splice structural characters.
    static func mutate(_ seed: String, _ random: inout SeededRandom) -> Data {
        var bytes = Array(seed.utf8)
        let alphabet = Array(#"{}[]":,0123456789-.eE truefalsnul\u"#.utf8) + [0x00, 0xFF, 0xC3, 0x28]
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            guard !bytes.isEmpty else { break }
            let index = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0: bytes[index] ^= UInt8.random(in: 1...255, using: &random)
            case 1: bytes.remove(at: index)
            case 2: bytes.insert(alphabet.randomElement(using: &random)!, at: index)
            case 3: bytes = Array(bytes.prefix(index))
            default: bytes.insert(contentsOf: bytes[index...].prefix(8), at: index)
            }
        }
        return Data(bytes)
    }

    @Test("status update bodies: parsed or refused, never a crash")
    func webhookBodies() {
        var random = SeededRandom(seed: 2026)
        var parsed = 0
        for index in 0..<Self.iterations {
            let data = Self.mutate(Self.webhookSeeds[index % Self.webhookSeeds.count], &random)
            guard let json = try? JSONValue.parse(data) else { continue }
            if (try? StatusReport.parse(json, allowLegacy: index % 2 == 0)) != nil { parsed += 1 }
        }
        #expect(parsed > 0)
        #expect(parsed < Self.iterations)
    }

    @Test("found by Fuzz/status-report: an empty payload_error or error detail is no reason — the user gets a sentence", arguments: [
        #"{"request_id":"r","status":"OK","payload":null,"payload_error":""}"#: "FAL sent no payload",
        #"{"request_id":"r","status":"ERROR","error":"","payload":{"detail":""}}"#: "training failed",
        #"{"request_id":"r","status":"ERROR","error":"boom","payload":{"detail":[{"msg":""}]}}"#: "boom",
    ])
    func emptyReasons(body: String, message: String) throws {
        let report = try StatusReport.parse(JSONValue.parse(Data(body.utf8)), allowLegacy: false)
        #expect(report.outcome == .failed(message: message))
    }

    @Test("Telegram updates: decoded or refused, never a crash")
    func updates() {
        var random = SeededRandom(seed: 7)
        var decoded = 0
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        for index in 0..<Self.iterations {
            let data = Self.mutate(Self.updateSeeds[index % Self.updateSeeds.count], &random)
            if (try? decoder.decode(TelegramUpdate.self, from: data)) != nil { decoded += 1 }
        }
        #expect(decoded > 0)
    }

    @Test("FAL inputs against every contract: validated, never a crash")
    func contractInputs() throws {
        let contracts = try ContractCatalog.bundled().contracts.values.sorted { $0.appId < $1.appId }
        var random = SeededRandom(seed: 99)
        let seed = #"{"data_url":"http://x/a.zip","finetune_comment":"c","iterations":500,"loras":[{"path":"p","scale":1}],"prompt":"p","image_size":{"width":1,"height":2}}"#
        var valid = 0
        for index in 0..<Self.iterations {
            guard let json = try? JSONValue.parse(Self.mutate(seed, &random)) else { continue }
            if InputValidator.validate(json, against: contracts[index % contracts.count]).problems.isEmpty { valid += 1 }
        }
        #expect(valid < Self.iterations)
    }
}
