import Foundation
import SupportKit

/// The parameters of a Bot API call as Telegram reads them from the query and the body (JSON, urlencoded or
/// multipart/form-data).
enum BotAPIBody {
    /// Decodes a JSON, urlencoded or multipart body into parameters. Form values are strings; numbers and JSON
    /// objects are recognised so `chat_id=42` and `reply_markup={"inline_keyboard":…}` work as Telegram accepts them.
    static func parameters(_ body: Data, contentType: String) -> [String: JSONValue] {
        guard !body.isEmpty else { return [:] }
        if contentType.contains("application/json") { return (try? JSONValue.parse(body))?.objectValue ?? [:] }
        var fields: [(String, String)] = []
        if contentType.contains("multipart/form-data"), let boundary = contentType.components(separatedBy: "boundary=").last {
            fields = multipart(body, boundary: boundary.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        } else {
            fields = urlencoded(body)
        }
        var params: [String: JSONValue] = [:]
        for (name, value) in fields { params[name] = typed(value) }
        return params
    }

    /// A form or query value as Telegram reads it: numbers, booleans and JSON objects are recognised.
    static func typed(_ value: String) -> JSONValue {
        if let number = Int(value) { return .int(number) }
        if value.hasPrefix("{") || value.hasPrefix("["), let json = try? JSONValue.parse(Data(value.utf8)) { return json }
        if value == "true" || value == "false" { return .bool(value == "true") }
        return .string(value)
    }

    /// The fields of an application/x-www-form-urlencoded body. Malformed escapes are kept as written (URLComponents
    /// traps on them, and a mock must answer a bad request, not crash).
    static func urlencoded(_ body: Data) -> [(String, String)] {
        String(decoding: body, as: UTF8.self).split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The text fields of a multipart/form-data body (file parts are skipped).
    static func multipart(_ body: Data, boundary: String) -> [(String, String)] {
        let text = String(decoding: body, as: UTF8.self)
        var fields: [(String, String)] = []
        for part in text.components(separatedBy: "--\(boundary)") {
            guard let split = part.range(of: "\r\n\r\n") else { continue }
            let head = part[..<split.lowerBound]
            guard let nameRange = head.range(of: "name=\""), !head.contains("filename=") else { continue }
            let name = head[nameRange.upperBound...].prefix { $0 != "\"" }
            var value = String(part[split.upperBound...])
            if value.hasSuffix("\r\n") { value.removeLast(1) }
            fields.append((String(name), value))
        }
        return fields
    }
}
