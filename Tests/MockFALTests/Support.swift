import Foundation
import Logging
import MockFAL
import SupportKit
import ZIPFoundation

/// An in-memory HTTP peer: serves archives by URL and records every request (webhooks included).
actor StubTransport: HTTPTransport {
    var routes: [String: IncomingResponse] = [:]
    private(set) var requests: [OutgoingRequest] = []
    var webhookStatus = 200

    func serve(_ url: String, _ response: IncomingResponse) { routes[url] = response }
    func setWebhookStatus(_ status: Int) { webhookStatus = status }

    func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        requests.append(request)
        if request.method == "POST" { return IncomingResponse(status: webhookStatus) }
        guard let response = routes[request.url] else { throw HTTPTransportError.unreachable("connection refused") }
        if response.body.count > request.maxResponseBytes { throw HTTPTransportError.responseTooLarge(limit: request.maxResponseBytes) }
        return response
    }

    var webhooks: [OutgoingRequest] { requests.filter { $0.method == "POST" } }
    var downloads: [OutgoingRequest] { requests.filter { $0.method == "GET" } }
}

/// A zip of `count` PNG photos (plus optional extra entries).
func photoZip(count: Int, size: Int = 512, extra: [String: Data] = [:]) throws -> Data {
    let archive = try Archive(data: Data(), accessMode: .create, pathEncoding: nil)
    var entries = extra
    for index in 0..<count {
        entries[String(format: "photo_%02d.png", index)] = PNGEncoder.bilevel(width: size, height: size, seed: UInt64(index + 1))
    }
    for (name, data) in entries.sorted(by: { $0.key < $1.key }) {
        try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
            data.subdata(in: Int(position)..<Int(position) + size)
        }
    }
    return archive.data ?? Data()
}

/// A queue on virtual time with a stub transport.
struct Harness {
    let clock = VirtualClock()
    let transport = StubTransport()
    let queue: FALQueue
    let configuration: MockFALConfiguration
    static let base = "http://127.0.0.1:8787"
    static let archiveURL = "http://127.0.0.1:9000/photos.zip"
    static let webhookURL = "http://127.0.0.1:8000/api/v1/avatar/status_update?training_type=style"

    init(mode: ValidationMode = .strict, configure: (inout MockFALConfiguration) -> Void = { _ in }) throws {
        var configuration = MockFALConfiguration(
            contracts: try .bundled(), time: .virtual(clock, start: Date(timeIntervalSince1970: 1_790_000_000)),
            transport: transport)
        configuration.mode = mode
        configuration.stepDuration = .seconds(1)
        configure(&configuration)
        self.configuration = configuration
        queue = FALQueue(configuration: configuration, logger: .warningsOnly)
    }

    func serveArchive(photos: Int = 12) async throws {
        await transport.serve(Self.archiveURL, IncomingResponse(status: 200, body: try photoZip(count: photos)))
    }

    func submit(_ app: String, _ input: JSONValue, webhook: String? = Harness.webhookURL, key: String? = "Key test") async throws -> QueueReply {
        await queue.submit(path: app, body: try input.jsonData(), webhookURL: webhook, baseURL: Self.base, authorization: key)
    }

    func status(_ app: String, _ id: String, logs: Bool = true) async -> QueueReply {
        await queue.status(prefix: app, requestId: id, logs: logs, authorization: "Key test")
    }

    func result(_ app: String, _ id: String) async -> QueueReply {
        await queue.result(prefix: app, requestId: id, authorization: "Key test")
    }

    /// Advances virtual time and waits until the work it released has finished.
    func advance(_ duration: Duration) async {
        await queue.waitUntilIdle()
        await clock.advance(by: duration)
        await queue.waitUntilIdle()
    }

    static let styleInput: JSONValue = [
        "data_url": .string(archiveURL), "finetune_comment": "avatar", "mode": "style", "iterations": 500,
        "learning_rate": 0.0001, "priority": "quality", "trigger_word": "TOK_1a2b3c4d", "finetune_type": "lora",
        "lora_rank": 32,
    ]

    static let portraitInput: JSONValue = [
        "images_data_url": .string(archiveURL), "trigger_phrase": "TOK_1a2b3c4d", "steps": 1000, "learning_rate": 0.0002,
    ]
}

extension QueueReply {
    var requestId: String { body["request_id"]?.stringValue ?? "" }
    var problemFields: [String] { body["detail"]?.arrayValue?.compactMap { $0["loc"]?.arrayValue?.dropFirst().compactMap(\.stringValue).joined(separator: ".") } ?? [] }
    var problemTypes: [String] { body["detail"]?.arrayValue?.compactMap { $0["type"]?.stringValue } ?? [] }
}

extension Logger {
    /// MockFAL's logger in tests: warnings and errors only.
    static var warningsOnly: Logger {
        var logger = Logger(label: "mock-fal-test")
        logger.logLevel = .warning
        return logger
    }
}
