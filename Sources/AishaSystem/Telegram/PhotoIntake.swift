import Crypto
import Foundation
import Logging
import SupportKit

/// Downloads a photo the user sent, checks it (format, size, resolution, duplicates, count) and stores it.
/// A refusal throws `AishaError.photoRejected` / `.tooManyPhotos` and leaves what was stored untouched.
struct PhotoIntake: Sendable {
    let store: any AvatarStore
    let objects: any ObjectStore
    let telegram: TelegramClient
    let time: TimeSource

    /// Returns how many photos the avatar has now.
    func accept(_ message: TelegramMessage, avatarId: UUID) async throws -> Int {
        guard let (fileId, declaredSize) = Self.file(of: message) else { throw AishaError.photoRejected(Texts.photoNotImage) }
        if let declaredSize, declaredSize > TrainingRules.maxPhotoBytes { throw AishaError.photoRejected(Texts.photoTooBig) }
        let stored = try await store.photos(avatarId: avatarId)
        if stored.count >= TrainingRules.maxPhotos { throw AishaError.tooManyPhotos }
        let data: Data
        do {
            let file = try await telegram.getFile(fileId: fileId)
            if let size = file.fileSize, size > TrainingRules.maxPhotoBytes { throw AishaError.photoRejected(Texts.photoTooBig) }
            guard let path = file.filePath else { throw AishaError.photoRejected(Texts.photoDownloadFailed) }
            data = try await telegram.downloadFile(path: path, maxBytes: TrainingRules.maxPhotoBytes)
        } catch let error as AishaError {
            throw error
        } catch TelegramError.fileTooBig {
            throw AishaError.photoRejected(Texts.photoTooBig)
        } catch {
            throw AishaError.photoRejected(Texts.photoDownloadFailed)
        }
        guard !data.isEmpty else { throw AishaError.photoRejected(Texts.photoEmpty) }
        guard let info = ImageProbe.probe(data) else { throw AishaError.photoRejected(Texts.photoNotImage) }
        let pixels = info.width * info.height
        guard pixels <= TrainingRules.maxPixels else { throw AishaError.photoRejected(Texts.photoTooManyPixels) }
        // A decompression bomb claims many pixels in very few bytes; real photos carry far more per pixel.
        if pixels > TrainingRules.bombPixels, Double(data.count) / Double(pixels) < TrainingRules.bombBytesPerPixel {
            throw AishaError.photoRejected(Texts.photoTooManyPixels)
        }
        guard info.shortSide >= TrainingRules.minShortSide else { throw AishaError.photoRejected(Texts.photoTooSmall(info.shortSide)) }
        let sha = Data(SHA256.hash(data: data)).hexString
        let ext = info.format == .jpeg ? "jpg" : info.format.rawValue
        let key = "photos/\(avatarId.uuidString.lowercased())/\(sha).\(ext)"
        if stored.contains(where: { $0.sha256 == sha }) {
            throw AishaError.photoRejected(Texts.photoDuplicate)
        }
        try await objects.put(data, key: key)
        let photo = AvatarPhoto(
            id: UUID(), avatarId: avatarId, objectKey: key, sha256: sha, size: data.count, width: info.width, height: info.height, position: 0)
        do {
            return try await store.addPhoto(photo, limit: TrainingRules.maxPhotos, now: time.now())
        } catch AishaError.photoRejected {
            throw AishaError.photoRejected(Texts.photoDuplicate)
        }
    }

    /// The file of a photo message (largest size) or of an image document.
    static func file(of message: TelegramMessage) -> (String, Int?)? {
        if let largest = message.photo?.max(by: { $0.width * $0.height < $1.width * $1.height }) {
            return (largest.fileId, largest.fileSize)
        }
        if let document = message.document {
            let name = document.fileName?.lowercased() ?? ""
            let imageName = [".jpg", ".jpeg", ".png", ".webp"].contains { name.hasSuffix($0) }
            if document.mimeType?.hasPrefix("image/") == true || imageName { return (document.fileId, document.fileSize) }
        }
        return nil
    }
}
