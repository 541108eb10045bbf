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

    /// The text fields of a multipart/form-data body (file parts are skipped). Read as bytes: a file part is an image,
    /// and only the part heads and text values are decoded.
    static func multipart(_ body: Data, boundary: String) -> [(String, String)] {
        let delimiter = Data("--\(boundary)".utf8)
        let headEnd = Data("\r\n\r\n".utf8)
        var fields: [(String, String)] = []
        var cursor = body.startIndex
        while let start = body.range(of: delimiter, in: cursor..<body.endIndex) {
            let next = body.range(of: delimiter, in: start.upperBound..<body.endIndex)
            let part = start.upperBound..<(next?.lowerBound ?? body.endIndex)
            cursor = next?.lowerBound ?? body.endIndex
            guard let split = body.range(of: headEnd, in: part) else { continue }
            let head = String(decoding: body[part.lowerBound..<split.lowerBound], as: UTF8.self)
            guard let nameRange = head.range(of: "name=\""), !head.contains("filename=") else { continue }
            let name = head[nameRange.upperBound...].prefix { $0 != "\"" }
            var value = body[split.upperBound..<part.upperBound]
            if value.suffix(2).elementsEqual("\r\n".utf8) { value = value.dropLast(2) }
            fields.append((String(name), String(decoding: value, as: UTF8.self)))
        }
        return fields
    }
}
