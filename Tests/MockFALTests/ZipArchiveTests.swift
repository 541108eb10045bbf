import Foundation
import SupportKit
import Testing
import ZIPFoundation

@testable import MockFAL

@Suite("Zip archives as MockFAL reads them")
struct ZipArchiveTests {
    @Test("deflated and stored entries written by ZIPFoundation read back byte for byte; folders are folders")
    func readsWhatZIPFoundationWrites() throws {
        let photo = PNGEncoder.bilevel(width: 300, height: 200, seed: 7)
        let text = Data(String(repeating: "avatar ", count: 5000).utf8)
        let archive = try Archive(data: Data(), accessMode: .create, pathEncoding: nil)
        for (name, data, method) in [("a/photo.png", photo, CompressionMethod.deflate), ("notes.txt", text, .none)] {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: method) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        try archive.addEntry(with: "a/", type: .directory, uncompressedSize: Int64(0)) { (_: Int64, _: Int) in Data() }
        let zip = try ZipArchive(try #require(archive.data))

        #expect(zip.entries.map(\.path) == ["a/photo.png", "notes.txt", "a/"])
        #expect(zip.entries.map(\.kind) == [.file, .file, .directory])
        #expect(zip.entries.map(\.method) == [8, 0, 0])
        #expect(try zip.prefix(of: zip.entries[0], limit: 1 << 20) == photo)
        #expect(try zip.prefix(of: zip.entries[0], limit: 100) == photo.prefix(100))
        #expect(try zip.prefix(of: zip.entries[1], limit: 1 << 20) == text)
        #expect(try zip.prefix(of: zip.entries[1], limit: 10) == Data("avatar ava".utf8))
    }

    @Test("ZIP64 sizes and offsets, and unix symlinks")
    func zip64() throws {
        let photo = PNGEncoder.bilevel(width: 64, height: 64, seed: 3)
        let data = handBuiltZip([("photo.png", photo, nil), ("link.png", Data("photo.png".utf8), 0o120777)], zip64: true)
        let zip = try ZipArchive(data)
        #expect(zip.entries.map(\.path) == ["photo.png", "link.png"])
        #expect(zip.entries.map(\.kind) == [.file, .symlink])
        #expect(zip.entries[0].size == photo.count)
        #expect(try zip.prefix(of: zip.entries[0], limit: 1 << 20) == photo)
        let plain = try ZipArchive(handBuiltZip([("photo.png", photo, nil)], zip64: false))
        #expect(try plain.prefix(of: plain.entries[0], limit: 1 << 20) == photo)
    }

    @Test("a truncated archive, a directory past the end, corrupt deflate data and encryption are errors, not traps")
    func malformed() throws {
        let good = try photoZip(count: 2)
        #expect(throws: ZipError.self) { try ZipArchive(good.prefix(good.count - 10)) }
        #expect(throws: ZipError.self) { try ZipArchive(Data("PK not really".utf8)) }
        var pastTheEnd = handBuiltZip([("photo.png", Data("x".utf8), nil)], zip64: false)
        pastTheEnd.replaceSubrange(pastTheEnd.count - 6..<pastTheEnd.count - 2, with: [0xFF, 0xFF, 0xFF, 0x7F])
        #expect(throws: ZipError.self) { try ZipArchive(pastTheEnd) }

        let archive = try ZipArchive(good)
        var corrupt = good
        let header = archive.entries[0].localHeaderOffset
        let dataStart = header + 30 + archive.entries[0].path.utf8.count + (Int(good[header + 28]) | Int(good[header + 29]) << 8)
        corrupt.replaceSubrange(dataStart..<dataStart + 8, with: [UInt8](repeating: 0xFF, count: 8))
        let reread = try ZipArchive(corrupt)
        #expect(throws: ZipError.self) { try reread.prefix(of: reread.entries[0], limit: 1 << 20) }

        var encrypted = archive.entries[1]
        encrypted.isEncrypted = true
        #expect(throws: ZipError.unreadableEntry(encrypted.path, "encrypted")) { try archive.prefix(of: encrypted, limit: 10) }
    }
}

/// A zip of stored entries built by hand; with `zip64` every size, offset and count sits in its ZIP64 field.
private func handBuiltZip(_ entries: [(name: String, data: Data, unixMode: UInt32?)], zip64: Bool) -> Data {
    var zip = Data()
    var central = Data()
    for entry in entries {
        let offset = zip.count
        let name = Data(entry.name.utf8)
        let sizes: [UInt64] = [UInt64(entry.data.count), UInt64(entry.data.count), UInt64(offset)]
        let extra = zip64 ? Data(le: UInt16(1)) + Data(le: UInt16(24)) + sizes.reduce(Data()) { $0 + Data(le: $1) } : Data()
        let small = { (value: UInt64) in zip64 ? UInt32.max : UInt32(value) }
        zip += Data(le: UInt32(0x0403_4B50)) + Data(le: UInt16(45)) + Data(le: UInt16(0)) + Data(le: UInt16(0))
        zip += Data(le: UInt32(0)) + Data(le: UInt32(0)) + Data(le: small(sizes[0])) + Data(le: small(sizes[0]))
        zip += Data(le: UInt16(name.count)) + Data(le: UInt16(0)) + name + entry.data
        central += Data(le: UInt32(0x0201_4B50)) + Data(le: UInt16(entry.unixMode == nil ? 45 : 3 << 8 | 45)) + Data(le: UInt16(45))
        central += Data(le: UInt16(0)) + Data(le: UInt16(0)) + Data(le: UInt32(0)) + Data(le: UInt32(0))
        central += Data(le: small(sizes[1])) + Data(le: small(sizes[0])) + Data(le: UInt16(name.count)) + Data(le: UInt16(extra.count))
        central += Data(le: UInt16(0)) + Data(le: UInt16(0)) + Data(le: UInt16(0)) + Data(le: (entry.unixMode ?? 0) << 16)
        central += Data(le: small(sizes[2])) + name + extra
    }
    let directoryOffset = zip.count
    zip += central
    if zip64 {
        let record = zip.count
        zip += Data(le: UInt32(0x0606_4B50)) + Data(le: UInt64(44)) + Data(le: UInt16(45)) + Data(le: UInt16(45))
        zip += Data(le: UInt32(0)) + Data(le: UInt32(0)) + Data(le: UInt64(entries.count)) + Data(le: UInt64(entries.count))
        zip += Data(le: UInt64(central.count)) + Data(le: UInt64(directoryOffset))
        zip += Data(le: UInt32(0x0706_4B50)) + Data(le: UInt32(0)) + Data(le: UInt64(record)) + Data(le: UInt32(1))
    }
    let count = zip64 ? UInt16.max : UInt16(entries.count)
    zip += Data(le: UInt32(0x0605_4B50)) + Data(le: UInt16(0)) + Data(le: UInt16(0)) + Data(le: count) + Data(le: count)
    zip += Data(le: UInt32(central.count)) + Data(le: zip64 ? UInt32.max : UInt32(directoryOffset)) + Data(le: UInt16(0))
    return zip
}

extension Data {
    fileprivate init<Value: FixedWidthInteger>(le value: Value) {
        self = Swift.withUnsafeBytes(of: value.littleEndian) { Data($0) }
    }
}
