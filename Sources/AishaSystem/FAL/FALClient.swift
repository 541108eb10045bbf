import Foundation
import Logging
import SupportKit

/// What FAL answered to a submit.
public struct FALSubmission: Sendable, Hashable {
    public var requestId: String
    public var statusURL: String?
    public var responseURL: String?
}

/// A request's status as FAL reports it.
public struct FALStatus: Sendable, Hashable {
    /// `IN_QUEUE`, `IN_PROGRESS`, `COMPLETED`
    public var status: String
    public var error: String?
    public var errorType: String?
}

/// Why a FAL call failed.
public enum FALError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 4xx other than 408/429: the request itself is wrong; retrying will not help.
    case rejected(status: Int, detail: String)
    /// 5xx, 408, 429 or no connection: worth retrying (after `retryAfter` seconds when given).
    case unavailable(status: Int?, detail: String, retryAfter: Int?)
    /// Sent, but no answer came (timeout, connection lost): FAL may have acted on it. Not retried for a submit,
    /// which would risk a second paid job.
    case noAnswer(detail: String)

    /// FAL's HTTP status, or nil when no answer came.
    public var httpStatus: Int? {
        switch self {
        case .rejected(let status, _): status
        case .unavailable(let status, _, _): status
        case .noAnswer: nil
        }
    }

    public var description: String {
        switch self {
        case .rejected(let status, let detail): "HTTP \(status): \(detail)"
        case .unavailable(let status, let detail, _): "\(status.map { "HTTP \($0)" } ?? "no connection"): \(detail)"
        case .noAnswer(let detail): "no answer: \(detail)"
        }
    }

    public var isRetryable: Bool {
        if case .unavailable = self { return true }
        return false
    }
}

/// FAL's queue API over the HTTP transport (`FAL_QUEUE_BASE_URL`, `Authorization: Key …`).
public struct FALClient: Sendable {
    let baseURL: String
    let key: String
    let transport: any HTTPTransport

    /// Where submit latency and errors are counted (the services' registry once wired).
    var metrics = AishaMetrics()

    public init(baseURL: String, key: String, transport: any HTTPTransport) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.key = key
        self.transport = transport
    }

    public func submit(app: String, input: JSONValue, webhookURL: String) async throws -> FALSubmission {
        let hook = webhookURL.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? webhookURL
        let started = ContinuousClock.now
        let body: JSONValue
        do {
            body = try await call("POST", "\(baseURL)/\(app)?fal_webhook=\(hook)", body: try input.jsonData())
            metrics.falSubmit(seconds: (ContinuousClock.now - started).timeInterval, status: 200)
        } catch let error as FALError {
            metrics.falSubmit(seconds: (ContinuousClock.now - started).timeInterval, status: error.httpStatus ?? 0)
            throw error
        }
        guard let id = body["request_id"]?.stringValue, !id.isEmpty else {
            throw FALError.unavailable(status: 200, detail: "submit answer without request_id", retryAfter: nil)
        }
        return FALSubmission(requestId: id, statusURL: body["status_url"]?.stringValue, responseURL: body["response_url"]?.stringValue)
    }

    public func status(app: String, requestId: String) async throws -> FALStatus {
        let body = try await call("GET", "\(requestBase(app))/requests/\(requestId)/status?logs=1")
        return FALStatus(
            status: body["status"]?.stringValue ?? "UNKNOWN", error: body["error"]?.stringValue,
            errorType: body["error_type"]?.stringValue)
    }

    /// The output of a finished request, or its error body (FAL answers a failed job with the error's status).
    public func result(app: String, requestId: String) async throws -> (status: Int, body: JSONValue) {
        let response = try await send("GET", "\(requestBase(app))/requests/\(requestId)")
        return (response.status, (try? JSONValue.parse(response.body)) ?? .null)
    }

    public func cancel(app: String, requestId: String) async throws -> Int {
        try await send("PUT", "\(requestBase(app))/requests/\(requestId)/cancel").status
    }

    /// Status, result and cancel URLs use only `owner/app` of the app id.
    private func requestBase(_ app: String) -> String {
        "\(baseURL)/" + app.split(separator: "/").prefix(2).joined(separator: "/")
    }

    private func call(_ method: String, _ url: String, body: Data? = nil) async throws -> JSONValue {
        let response = try await send(method, url, body: body)
        let json = (try? JSONValue.parse(response.body)) ?? .null
        switch response.status {
        case 200..<300:
            return json
        case 408, 429, 500...599:
            throw FALError.unavailable(
                status: response.status, detail: Self.detail(json, response.body), retryAfter: response.header("Retry-After").flatMap { Int($0) })
        default:
            throw FALError.rejected(status: response.status, detail: Self.detail(json, response.body))
        }
    }

    private func send(_ method: String, _ url: String, body: Data? = nil) async throws -> IncomingResponse {
        var headers = [("Authorization", "Key \(key)"), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        do {
            return try await transport.send(OutgoingRequest(method: method, url: url, headers: headers, body: body, timeout: .seconds(30)))
        } catch let error as HTTPTransportError {
            if case .notConnected = error { throw FALError.unavailable(status: nil, detail: error.description, retryAfter: nil) }
            throw FALError.noAnswer(detail: error.description)
        } catch {
            throw FALError.noAnswer(detail: String(describing: error))
        }
    }

    /// A readable summary of FAL's `detail` (a string, or a list of `{loc, msg}`).
    static func detail(_ json: JSONValue, _ raw: Data) -> String {
        if let text = json["detail"]?.stringValue { return text }
        if let problems = json["detail"]?.arrayValue, !problems.isEmpty {
            return problems.map { problem in
                let field = problem["loc"]?.arrayValue?.dropFirst().map { $0.stringValue ?? "\($0)" }.joined(separator: ".") ?? ""
                return field.isEmpty ? (problem["msg"]?.stringValue ?? "") : "\(field): \(problem["msg"]?.stringValue ?? "")"
            }.joined(separator: "; ")
        }
        return String(decoding: raw.prefix(300), as: UTF8.self)
    }
}
