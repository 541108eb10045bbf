import Crypto
import Foundation
import SupportKit

/// Objects in an S3-compatible bucket (path-style URLs, AWS Signature V4), e.g. MinIO, AWS S3 or moto's server.
/// Archives are handed to FAL as presigned GET URLs, so FAL downloads straight from the bucket.
public struct S3ObjectStore: ObjectStore {
    public let endpoint: String
    public let bucket: String
    public let region: String
    let accessKey: String
    let secretKey: String
    let transport: any HTTPTransport
    let time: TimeSource

    public init(
        endpoint: String, bucket: String, region: String = "us-east-1", accessKey: String, secretKey: String,
        transport: any HTTPTransport = AsyncHTTPClientTransport(), time: TimeSource = .live
    ) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.bucket = bucket
        self.region = region
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.transport = transport
        self.time = time
    }

    public func put(_ data: Data, key: String) async throws {
        try ObjectKey.validate(key)
        try expect(try await send("PUT", key: key, body: data), [200], key)
    }

    public func get(key: String) async throws -> Data {
        try ObjectKey.validate(key)
        let response = try await send("GET", key: key)
        if response.status == 404 { throw ObjectStoreError.notFound(key) }
        try expect(response, [200], key)
        return response.body
    }

    public func exists(key: String) async throws -> Bool {
        try ObjectKey.validate(key)
        let response = try await send("HEAD", key: key)
        if response.status == 404 { return false }
        try expect(response, [200], key)
        return true
    }

    public func delete(key: String) async throws {
        try ObjectKey.validate(key)
        try expect(try await send("DELETE", key: key), [200, 204], key)
    }

    public func downloadURL(key: String, expires: Date) throws -> String? {
        try ObjectKey.validate(key)
        let now = time.now()
        let seconds = max(1, min(604_800, Int(expires.timeIntervalSince(now))))
        let (amzDate, day) = Self.stamps(now)
        var query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(accessKey)/\(scope(day))"), ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(seconds)), ("X-Amz-SignedHeaders", "host"),
        ]
        let signature = sign(method: "GET", path: path(key), query: query, headers: [("host", host)], payloadHash: "UNSIGNED-PAYLOAD", amzDate: amzDate, day: day)
        query.append(("X-Amz-Signature", signature))
        return "\(endpoint)\(path(key))?\(Self.canonicalQuery(query))"
    }

    /// Creates the bucket unless it exists (for first runs and tests).
    public func createBucketIfMissing() async throws {
        let response = try await send("PUT", key: nil)
        guard [200, 409].contains(response.status) || String(decoding: response.body, as: UTF8.self).contains("BucketAlreadyOwnedByYou") else {
            throw S3Error(status: response.status, detail: String(decoding: response.body.prefix(300), as: UTF8.self))
        }
    }

    // MARK: Signing

    private var host: String { URLComponents(string: endpoint).map { c in c.host.map { h in c.port.map { "\(h):\($0)" } ?? h } ?? "" } ?? "" }

    private func path(_ key: String?) -> String {
        "/" + ([bucket] + (key.map { $0.split(separator: "/").map(String.init) } ?? [])).map(Self.encode).joined(separator: "/")
    }

    private func scope(_ day: String) -> String { "\(day)/\(region)/s3/aws4_request" }

    private func send(_ method: String, key: String?, body: Data? = nil) async throws -> IncomingResponse {
        let (amzDate, day) = Self.stamps(time.now())
        let payloadHash = Data(SHA256.hash(data: body ?? Data())).hexString
        let headers = [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate)]
        let signature = sign(method: method, path: path(key), query: [], headers: headers, payloadHash: payloadHash, amzDate: amzDate, day: day)
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope(day)), SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=\(signature)"
        return try await transport.send(
            OutgoingRequest(
                method: method, url: endpoint + path(key),
                headers: [("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate), ("Authorization", authorization)], body: body,
                timeout: .seconds(60), maxResponseBytes: 256 * 1024 * 1024))
    }

    private func sign(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, amzDate: String, day: String
    ) -> String {
        Self.signature(
            method: method, path: path, query: query, headers: headers, payloadHash: payloadHash, amzDate: amzDate,
            scope: scope(day), secretKey: secretKey, day: day, region: region)
    }

    /// The SigV4 signature of a canonical request (headers lowercase, in signing order).
    static func signature(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, amzDate: String,
        scope: String, secretKey: String, day: String, region: String
    ) -> String {
        let canonicalHeaders = headers.map { "\($0.0):\($0.1)\n" }.joined()
        let signedHeaders = headers.map(\.0).joined(separator: ";")
        let request = [method, path, Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        let toSign = ["AWS4-HMAC-SHA256", amzDate, scope, Data(SHA256.hash(data: Data(request.utf8))).hexString].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [day, region, "s3", "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return Data(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key)).hexString
    }

    private func expect(_ response: IncomingResponse, _ statuses: Set<Int>, _ key: String) throws {
        guard statuses.contains(response.status) else {
            throw S3Error(status: response.status, detail: "\(key): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
        }
    }

    static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (encode($0.0), encode($0.1)) }.sorted { $0 < $1 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 encoding of everything but unreserved characters, as SigV4 wants.
    static func encode(_ text: String) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static func stamps(_ date: Date) -> (String, String) {
        let amzDate = UTCTimestamp.compact(date)
        return (amzDate, String(amzDate.prefix(8)))
    }
}

/// An S3 answer that was not the expected one.
public struct S3Error: Error, CustomStringConvertible {
    public var status: Int
    public var detail: String
    public var description: String { "S3 answered HTTP \(status): \(detail)" }
}
