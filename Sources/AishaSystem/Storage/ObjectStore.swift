import Foundation

/// Why an object store refused a key or could not read an object.
public enum ObjectStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidKey(String)
    case notFound(String)

    public var description: String {
        switch self {
        case .invalidKey(let key): "invalid object key '\(key)'"
        case .notFound(let key): "no object '\(key)'"
        }
    }
}

/// Where photos, archives and results live: local files by default, S3-compatible later.
public protocol ObjectStore: Sendable {
    func put(_ data: Data, key: String) async throws
    func get(key: String) async throws -> Data
    func exists(key: String) async throws -> Bool
    func delete(key: String) async throws
    /// A URL others can GET the object from until `expires`, or nil when the store cannot hand one out (then
    /// AishaSystem serves the object itself at a signed URL).
    func downloadURL(key: String, expires: Date) throws -> String?
}

extension ObjectStore {
    public func downloadURL(key: String, expires: Date) throws -> String? { nil }
}

/// Object keys are relative paths of safe segments: no traversal, no absolute paths, no control characters.
public enum ObjectKey {
    public static func validate(_ key: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, key.utf8.count <= 512, !key.hasPrefix("/"),
            segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && $0.unicodeScalars.allSatisfy(allowed.contains) })
        else { throw ObjectStoreError.invalidKey(key) }
    }
}

/// Objects as files under a root folder.
public struct FileObjectStore: ObjectStore {
    public let root: URL

    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
    }

    private func url(_ key: String) throws -> URL {
        try ObjectKey.validate(key)
        return root.appendingPathComponent(key)
    }

    public func put(_ data: Data, key: String) async throws {
        let url = try url(key)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    }

    public func get(key: String) async throws -> Data {
        let url = try url(key)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw ObjectStoreError.notFound(key) }
        return data
    }

    public func exists(key: String) async throws -> Bool {
        FileManager.default.fileExists(atPath: try url(key).path)
    }

    public func delete(key: String) async throws {
        let url = try url(key)
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
    }
}

/// Objects in memory (tests and scenario runs that need no files).
public actor InMemoryObjectStore: ObjectStore {
    private var objects: [String: Data] = [:]

    public init() {}

    public func put(_ data: Data, key: String) async throws {
        try ObjectKey.validate(key)
        objects[key] = data
    }

    public func get(key: String) async throws -> Data {
        try ObjectKey.validate(key)
        guard let data = objects[key] else { throw ObjectStoreError.notFound(key) }
        return data
    }

    public func exists(key: String) async throws -> Bool {
        try ObjectKey.validate(key)
        return objects[key] != nil
    }

    public func delete(key: String) async throws {
        try ObjectKey.validate(key)
        objects[key] = nil
    }
}
