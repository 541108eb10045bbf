import Crypto
import Foundation
import SupportKit
import ZIPFoundation

/// Zips an avatar's photos into one archive in the object store (the trainer downloads it).
struct ArchiveBuilder: Sendable {
    let objects: any ObjectStore

    /// Builds `archives/<avatar>/attempt-<n>.zip` and returns its key. Throws `AishaError.noArchive` when there is
    /// nothing to train on or a photo is missing.
    func build(avatarId: UUID, attempt: Int, photos: [AvatarPhoto]) async throws -> String {
        guard !photos.isEmpty else { throw AishaError.noArchive("the avatar has no photos") }
        var files: [(String, Data)] = []
        for photo in photos {
            do {
                let data = try await objects.get(key: photo.objectKey)
                let ext = (photo.objectKey as NSString).pathExtension
                files.append((String(format: "photo_%02d.%@", photo.position, ext), data))
            } catch {
                throw AishaError.noArchive("photo \(photo.position) is missing from storage: \(error)")
            }
        }
        let zip = try Self.zip(files)
        let key = "archives/\(avatarId.uuidString.lowercased())/attempt-\(attempt).zip"
        try await objects.put(zip, key: key)
        return key
    }

    /// ZIPFoundation's Archive is not Sendable, so it lives and dies inside this function.
    static func zip(_ files: [(String, Data)]) throws -> Data {
        let archive = try Archive(data: Data(), accessMode: .create, pathEncoding: nil)
        for (name, data) in files {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        guard let data = archive.data else { throw AishaError.noArchive("the zip could not be written") }
        return data
    }
}

/// Signs and checks expiring archive URLs: `…/api/v1/archives/<key>?expires=<unix>&signature=<hex HMAC-SHA256>`.
public struct ArchiveURLSigner: Sendable {
    let secret: SymmetricKey
    let endpoint: PublicEndpoint

    public init(secret: String, endpoint: PublicEndpoint) {
        self.secret = SymmetricKey(data: Data(secret.utf8))
        self.endpoint = endpoint
    }

    /// The path under `/api/v1/archives/` for an archive key (`archives/<avatar>/<file>.zip`).
    public func url(forKey key: String, expires: Date) -> String {
        let path = String(key.dropFirst("archives/".count))
        let expiry = Int(expires.timeIntervalSince1970)
        return "\(endpoint.url)/api/v1/archives/\(path)?expires=\(expiry)&signature=\(signature(path: path, expires: expiry))"
    }

    /// True when the signature matches the path and expiry and the URL has not expired.
    public func verify(path: String, expires: Int, signature: String, now: Date) -> Bool {
        guard Double(expires) >= now.timeIntervalSince1970, let given = Data(hexString: signature) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data("\(path):\(expires)".utf8), using: secret)
    }

    private func signature(path: String, expires: Int) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(path):\(expires)".utf8), using: secret)
        return Data(mac).hexString
    }
}
