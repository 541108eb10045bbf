import Foundation
import MockFAL
import Synchronization
import SupportKit

/// `aisha-scenario contracts diff-recordings DIR`: replays each recorded job against MockFAL (virtual time, in
/// memory) and compares MockFAL's answers with FAL's by shape: status codes, keys, types, nullability, enum values,
/// error `detail` structure, contract headers, webhook body, status sequence. Values (ids, URLs, timestamps) never.
public enum RecordingReplay {
    /// The drift of one recording: empty when MockFAL answers like FAL did.
    public struct Drift: Sendable {
        public var file: String
        public var source: String
        public var lines: [String]
    }

    public static func diff(folder: String) async throws -> [Drift] {
        var drifts: [Drift] = []
        for (file, recording) in try Recording.load(folder: folder) {
            drifts.append(Drift(file: file, source: recording.source, lines: try await replay(recording)))
        }
        return drifts
    }

    public static func report(_ drifts: [Drift]) -> String {
        var lines: [String] = []
        for drift in drifts {
            lines.append("\(drift.lines.isEmpty ? "✔" : "✘") \(drift.file) (\(drift.source))")
            lines += drift.lines.map { "    \($0)" }
        }
        let drifted = drifts.filter { !$0.lines.isEmpty }.count
        lines.append("\(drifts.count) recording(s), \(drifted) with behavioural drift")
        return lines.joined(separator: "\n")
    }

    /// Plays one recording's exchanges in order against a fresh MockFAL, driving its job to the status each
    /// recorded answer shows before asking.
    static func replay(_ recording: Recording) async throws -> [String] {
        let clock = VirtualClock()
        let transport = ReplayTransport()
        var configuration = MockFALConfiguration(contracts: try .bundled(), time: .virtual(clock), transport: transport)
        configuration.stepDuration = .seconds(1)
        let queue = FALQueue(configuration: configuration, logger: .quiet("replay"))
        // The job waits a second in the queue, so an IN_QUEUE answer can be asked for deterministically.
        await queue.addFault(FaultRule(fault: Fault(queueSeconds: 1)))
        var lines: [String] = []
        var mockId = ""
        var recordedSequence: [String] = []
        var mockSequence: [String] = []
        let prefix = recording.appId.split(separator: "/").prefix(2).joined(separator: "/")
        let auth = "Key replay"
        func drive(to status: String) async {
            let target = ["IN_QUEUE": 0, "IN_PROGRESS": 1, "COMPLETED": 2][status] ?? 2
            for _ in 0..<64 {
                let now = await queue.status(prefix: prefix, requestId: mockId, logs: false, authorization: auth).body["status"]?.stringValue
                let current = ["IN_QUEUE": 0, "IN_PROGRESS": 1, "COMPLETED": 2][now ?? ""] ?? 2
                guard current < target else { return }
                await configuration.time.advance(by: target == 1 ? .seconds(1) : .seconds(86_400))
                await queue.waitUntilIdle()
            }
        }
        for (index, exchange) in recording.exchanges.enumerated() {
            let name = "\(exchange.kind.rawValue) #\(index + 1)"
            let reply: QueueReply
            switch exchange.kind {
            case .submit:
                let target = exchange.request.target ?? "/\(recording.appId)"
                let path = String(target.split(separator: "?", maxSplits: 1).first ?? "")
                let hook = target.contains("fal_webhook=") ? "http://replay.invalid/hook" : nil
                let body = try (exchange.request.body ?? .object([:])).jsonData()
                reply = await queue.submit(path: path, body: body, webhookURL: hook, baseURL: "http://replay.invalid", authorization: auth)
                mockId = reply.body["request_id"]?.stringValue ?? ""
            case .status:
                let status = exchange.response.body?["status"]?.stringValue ?? "COMPLETED"
                recordedSequence.append(status)
                await drive(to: status)
                let logs = exchange.request.target?.contains("logs=1") ?? false
                reply = await queue.status(prefix: prefix, requestId: mockId, logs: logs, authorization: auth)
                mockSequence.append(reply.body["status"]?.stringValue ?? "?")
            case .result:
                await drive(to: "COMPLETED")
                reply = await queue.result(prefix: prefix, requestId: mockId, authorization: auth)
            case .cancel:
                reply = await queue.cancel(prefix: prefix, requestId: mockId, authorization: auth)
            case .webhook:
                await drive(to: "COMPLETED")
                guard let sent = await transport.webhooks.first else {
                    lines.append("\(name): FAL sent a webhook, MockFAL sent none")
                    continue
                }
                let headers = Dictionary(sent.headers.map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { a, _ in a })
                lines += headerDrift(name, exchange.request.headers, headers)
                lines += ShapeDiff.compare(exchange.request.body, sent.body.flatMap { try? JSONValue.parse($0) }, path: "\(name) body")
                continue
            }
            if let status = exchange.response.status, status != reply.status {
                lines.append("\(name): HTTP \(status) from FAL, \(reply.status) from MockFAL")
            }
            lines += headerDrift(name, exchange.response.headers, Dictionary(reply.headers.map { ($0.0.lowercased(), $0.1) } + [("content-type", "application/json")], uniquingKeysWith: { a, _ in a }))
            lines += ShapeDiff.compare(exchange.response.body, reply.body, path: "\(name) body")
        }
        if collapse(recordedSequence) != collapse(mockSequence) {
            lines.append("status sequence: FAL \(collapse(recordedSequence).joined(separator: " → ")), MockFAL \(collapse(mockSequence).joined(separator: " → "))")
        }
        return lines
    }

    private static func headerDrift(_ name: String, _ recorded: [String: String], _ mock: [String: String]) -> [String] {
        let theirs = ShapeDiff.contractHeaders(recorded)
        let ours = ShapeDiff.contractHeaders(mock)
        return theirs.subtracting(ours).sorted().map { "\(name): header \($0) missing in MockFAL's answer" }
            + ours.subtracting(theirs).sorted().map { "\(name): header \($0) sent by MockFAL, not by FAL" }
    }

    /// The sequence without repeats: IN_QUEUE, IN_QUEUE, IN_PROGRESS → IN_QUEUE, IN_PROGRESS.
    static func collapse(_ sequence: [String]) -> [String] {
        sequence.reduce(into: []) { if $0.last != $1 { $0.append($1) } }
    }
}

/// The replayed job's world: archives are served (a zip of 12 photos; the proxy's dead-archive URL answers 404),
/// webhooks are kept and answered 200.
private actor ReplayTransport: HTTPTransport {
    private(set) var webhooks: [OutgoingRequest] = []
    private let archive = (try? PhotoArchive.zip(count: 12)) ?? Data()

    func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        if request.method == "POST" {
            webhooks.append(request)
            return IncomingResponse(status: 200)
        }
        if request.url.contains("/_proxy/dead-archive/") { return IncomingResponse(status: 404) }
        return IncomingResponse(status: 200, body: archive)
    }
}
