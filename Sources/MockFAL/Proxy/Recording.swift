#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// One request and its answer, as the proxy saw it on the wire (secrets redacted).
public struct RecordedExchange: Sendable, Codable, Hashable {
    public struct Message: Sendable, Codable, Hashable {
        public var method: String?
        /// Path and query, e.g. `/fal-ai/flux-pro-trainer?fal_webhook=…` (requests only).
        public var target: String?
        public var status: Int?
        public var headers: [String: String]
        public var body: JSONValue?
    }
    public var kind: CallKind
    public var time: String
    public var request: Message
    public var response: Message
}

/// The exchanges of one job at the upstream, in order: one file per job in a recordings folder.
public struct Recording: Sendable, Codable, Hashable {
    /// Where the answers came from: `fal` for the real service, otherwise a note such as "MockFAL stand-in".
    public var source: String
    public var upstream: String
    public var appId: String
    public var requestId: String
    public var exchanges: [RecordedExchange]

    enum CodingKeys: String, CodingKey {
        case source, upstream, appId = "app_id", requestId = "request_id", exchanges
    }

    /// `fal-ai__flux-pro-trainer--<request id>.json`
    public var fileName: String { "\(appId.replacing("/", with: "__"))--\(requestId).json" }

    /// Reads every `*.json` recording of a folder, sorted by file name.
    public static func load(folder: String) throws -> [(file: String, recording: Recording)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent(name))
            return (name, try JSONDecoder().decode(Recording.self, from: data))
        }
    }
}

/// Writes the exchanges the proxy relays, one readable file per job (`--record DIR`), with `Authorization`, tokens
/// and URL signatures redacted. A file is rewritten as its job's exchanges arrive, so an aborted run keeps them.
public actor ExchangeRecorder {
    public let folder: String
    let source: String
    private var recordings: [String: Recording] = [:]

    public init(folder: String, source: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.folder = folder
        self.source = source
    }

    func record(_ exchange: RecordedExchange, appId: String, requestId: String, upstream: String) {
        var recording = recordings[requestId] ?? Recording(source: source, upstream: upstream, appId: appId, requestId: requestId, exchanges: [])
        if let last = recording.exchanges.last, last.kind == .status, exchange.kind == .status, last.response.status == exchange.response.status,
            last.response.body?["status"] == exchange.response.body?["status"]
        {
            recording.exchanges[recording.exchanges.count - 1] = exchange  // a poll that learnt nothing new: the latest stands for it
        } else {
            recording.exchanges.append(exchange)
        }
        recordings[requestId] = recording
        let url = URL(fileURLWithPath: folder).appendingPathComponent(recording.fileName)
        let data = (try? JSONValue.from(recording))?.prettyJSONData() ?? Data()
        try? data.write(to: url)
    }

    /// What a recording keeps of a header set: names lower-cased, secrets replaced.
    static func headers(_ headers: [(String, String)]) -> [String: String] {
        let hopByHop: Set = ["host", "content-length", "connection", "transfer-encoding", "date", "keep-alive"]
        var kept: [String: String] = [:]
        for (name, value) in headers {
            let name = name.lowercased()
            guard !hopByHop.contains(name) else { continue }
            kept[name] = Redaction.isSecretName(name) ? Redaction.placeholder : Redaction.url(value)
        }
        return kept
    }
}

/// What recordings never keep: credentials, tokens and URL signatures.
public enum Redaction {
    public static let placeholder = "[redacted]"

    static func isSecretName(_ name: String) -> Bool {
        let name = name.lowercased()
        return name == "authorization" || name == "cookie" || name == "set-cookie"
            || ["token", "secret", "signature", "sig", "credential", "security", "key", "password"].contains { name.contains($0) }
                && !name.hasPrefix("x-fal-webhook-")
    }

    /// A URL with the values of its secret-looking query parameters replaced (other text is returned as is).
    public static func url(_ text: String) -> String {
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), var parts = URLComponents(string: text),
            let items = parts.queryItems, !items.isEmpty
        else { return text }
        parts.queryItems = items.map { item in
            if item.name == "fal_webhook", let value = item.value { return URLQueryItem(name: item.name, value: url(value)) }
            return Redaction.isSecretName(item.name) ? URLQueryItem(name: item.name, value: placeholder) : item
        }
        return parts.string ?? text
    }

    /// Every string of a JSON value passed through `url(_:)`.
    public static func json(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(url(text))
        case .array(let items): .array(items.map(json))
        case .object(let fields): .object(fields.mapValues(json))
        case .null, .bool, .int, .double: value
        }
    }
}
