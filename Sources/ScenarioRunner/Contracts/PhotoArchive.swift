import Foundation
import ZIPFoundation

/// A training archive of generated photos, as a trainer downloads it (replays, staging stand-ins).
public enum PhotoArchive {
    /// A zip of `count` PNG photos, 512 px square, deflated.
    public static func zip(count: Int) throws -> Data {
        let archive = try Archive(data: Data(), accessMode: .create, pathEncoding: nil)
        for index in 0..<count {
            let data = ImageFormat.png.image(width: 512, height: 512, seed: UInt64(index + 1))
            try archive.addEntry(with: "photo_\(index).png", type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return archive.data ?? Data()
    }
}
