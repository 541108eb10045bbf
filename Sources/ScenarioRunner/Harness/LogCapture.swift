import Foundation
import Logging
import Synchronization

extension Logger {
    /// A logger that only shows critical problems: for the mocks and servers a run or benchmark starts.
    static func quiet(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        return logger
    }
}

/// Keeps every log line of a scenario's AishaSystem, for `expect_log` and the report.
final class LogBuffer: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }

    /// A logger whose lines (message and metadata) go into this buffer.
    func logger(label: String) -> Logger {
        Logger(label: label) { _ in CapturingLogHandler(buffer: self) }
    }
}

struct CapturingLogHandler: LogHandler {
    let buffer: LogBuffer
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        buffer.append("\(event.level) \(event.message)\(fields.isEmpty ? "" : " [\(fields)]")")
    }
}
