import Foundation
import Logging
import SupportKit

/// How `aisha serve` writes its log.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// One JSON object per line (`LOG_FORMAT=json`): `time`, `level`, `label`, `message`, then every metadata key
/// (`avatar_id`, `request_id`, `user_id`, …) as a field of its own, so journald/Loki can filter on them.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let write: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level, write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.label = label
        self.logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = Self.json(value) }
        fields["time"] = .string(UTCTimestamp.iso8601(Date()))
        fields["level"] = .string(event.level.rawValue)
        fields["label"] = .string(label)
        fields["message"] = .string(event.message.description)
        if event.level >= .error { fields["source"] = .string("\(event.file):\(event.line)") }
        write(String(decoding: (try? JSONValue.object(fields).jsonData()) ?? Data(), as: UTF8.self))
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let map): .object(map.mapValues(json))
        }
    }
}
