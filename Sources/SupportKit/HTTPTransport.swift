import AsyncHTTPClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP request leaving this process.
public struct OutgoingRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: Data?
    public var timeout: Duration
    /// Responses larger than this fail with `HTTPTransportError.responseTooLarge`.
    public var maxResponseBytes: Int

    public init(
        method: String = "GET", url: String, headers: [(String, String)] = [], body: Data? = nil,
        timeout: Duration = .seconds(30), maxResponseBytes: Int = 64 * 1024 * 1024
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }
}

/// The response to an `OutgoingRequest`, fully read.
public struct IncomingResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name, case-insensitively.
    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.0.lowercased() == name }?.1
    }
}

/// Why an outgoing request produced no response.
public enum HTTPTransportError: Error, Sendable, CustomStringConvertible {
    /// No connection was made: the request never left (safe to send again).
    case notConnected(String)
    /// The connection failed after it was made: the peer may have received the request.
    case unreachable(String)
    case timedOut
    case responseTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .notConnected(let reason): "not connected: \(reason)"
        case .unreachable(let reason): "unreachable: \(reason)"
        case .timedOut: "timed out"
        case .responseTooLarge(let limit): "response larger than \(limit) bytes"
        }
    }
}

/// The seam for outgoing HTTP: live code uses `AsyncHTTPClientTransport`; tests may answer in memory.
/// Redirects are never followed by the transport; callers that allow them follow `Location` themselves.
public protocol HTTPTransport: Sendable {
    func send(_ request: OutgoingRequest) async throws -> IncomingResponse
}

/// Outgoing HTTP over AsyncHTTPClient (one process-wide client that does not follow redirects).
public struct AsyncHTTPClientTransport: HTTPTransport {
    public init() {}

    public func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = .init(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let timeout = TimeAmount.nanoseconds(Int64(request.timeout.timeInterval * 1e9))
        let response: HTTPClientResponse
        do {
            response = try await sharedClient.execute(outgoing, timeout: timeout)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw HTTPTransportError.timedOut
        } catch let error as HTTPClientError where error == .connectTimeout {
            throw HTTPTransportError.notConnected(String(describing: error))
        } catch let error as IOError where [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode) {
            throw HTTPTransportError.notConnected(String(describing: error))
        } catch {
            throw HTTPTransportError.unreachable(String(describing: error))
        }
        if let length = response.headers.first(name: "content-length").flatMap(Int.init),
            length > request.maxResponseBytes
        {
            throw HTTPTransportError.responseTooLarge(limit: request.maxResponseBytes)
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: request.maxResponseBytes)
        } catch is NIOTooManyBytesError {
            throw HTTPTransportError.responseTooLarge(limit: request.maxResponseBytes)
        } catch {
            throw HTTPTransportError.unreachable(String(describing: error))
        }
        return IncomingResponse(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) },
            body: Data(body.readableBytesView)
        )
    }
}

/// Up to 32 connections per host (AsyncHTTPClient's default is 8: a burst of calls to one host — the bot's to
/// Telegram, the bench's 16 clients — queued inside the client; the bench's ingestion rose 18 % without that queue).
private let sharedClient = HTTPClient(
    eventLoopGroupProvider: .singleton,
    configuration: {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        return configuration
    }()
)

extension Data {
    /// Lowercase hex of the bytes.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: count * 2) { buffer in
            for (index, byte) in enumerated() {
                buffer[2 * index] = digits[Int(byte >> 4)]
                buffer[2 * index + 1] = digits[Int(byte & 0x0F)]
            }
            return count * 2
        }
    }

    /// base64url without padding (JWK encoding).
    public var base64URLEncoded: String {
        base64EncodedString().replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
    }

    /// Decodes base64url with or without padding.
    public init?(base64URLEncoded text: String) {
        var base64 = text.replacing("-", with: "+").replacing("_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }

    /// Decodes lowercase or uppercase hex; nil for anything else.
    public init?(hexString text: String) {
        guard text.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.count / 2)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
