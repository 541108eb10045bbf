import CSystemZlib

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A zip archive read the way a trainer unpacks one: the central directory names the entries (ZIP64 too), each
/// entry's data follows its local header, stored or deflated. Only reading — MockFAL never writes archives.
struct ZipArchive {
    /// One file, folder or link named in the central directory.
    struct Entry: Sendable, Hashable {
        enum Kind: Sendable { case file, directory, symlink }

        var path: String
        var kind: Kind
        /// 0 stored, 8 deflated; anything else is not readable here.
        var method: Int
        var isEncrypted: Bool
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    let entries: [Entry]
    private let bytes: ZipBytes

    /// Reads the central directory; throws when the data is not a complete zip archive.
    init(_ data: Data) throws(ZipError) {
        let bytes = ZipBytes(data)
        self.bytes = bytes
        let directory = try Self.centralDirectory(bytes)
        var entries: [Entry] = []
        var offset = directory.offset
        for _ in 0..<directory.count {
            let (entry, next) = try Self.entry(at: offset, in: bytes)
            entries.append(entry)
            offset = next
        }
        self.entries = entries
    }

    /// Up to `limit` bytes from the start of a file entry's content.
    func prefix(of entry: Entry, limit: Int) throws(ZipError) -> Data {
        guard !entry.isEncrypted else { throw .unreadableEntry(entry.path, "encrypted") }
        let header = entry.localHeaderOffset
        guard try bytes.u32(header) == 0x0403_4B50 else { throw .unreadableEntry(entry.path, "no local header") }
        let start = header + 30 + (try bytes.u16(header + 26)) + (try bytes.u16(header + 28))
        let stored = try bytes.slice(start, count: entry.compressedSize)
        switch entry.method {
        case 0: return stored.prefix(limit)
        case 8: return try Self.inflate(stored, limit: limit, path: entry.path)
        default: throw .unreadableEntry(entry.path, "compression method \(entry.method)")
        }
    }

    /// Where the central directory starts and how many entries it lists (from the end record, or its ZIP64 form).
    private static func centralDirectory(_ bytes: ZipBytes) throws(ZipError) -> (offset: Int, count: Int) {
        guard bytes.count >= 22 else { throw .malformed("too short for a zip archive") }
        var end = bytes.count - 22
        let lowest = max(0, end - 0xFFFF)
        while try bytes.u32(end) != 0x0605_4B50 {
            guard end > lowest else { throw .malformed("no end of central directory record") }
            end -= 1
        }
        let count = try bytes.u16(end + 10)
        let offset = try bytes.u32(end + 16)
        guard count == 0xFFFF || offset == 0xFFFF_FFFF else { return (offset, count) }
        guard end >= 20, try bytes.u32(end - 20) == 0x0706_4B50 else { throw .malformed("no ZIP64 end locator") }
        let record = try bytes.u64(end - 20 + 8)
        guard try bytes.u32(record) == 0x0606_4B50 else { throw .malformed("no ZIP64 end of central directory record") }
        return (try bytes.u64(record + 48), try bytes.u64(record + 32))
    }

    /// The central directory record at `offset`, and where the next one starts.
    private static func entry(at offset: Int, in bytes: ZipBytes) throws(ZipError) -> (Entry, next: Int) {
        guard try bytes.u32(offset) == 0x0201_4B50 else { throw .malformed("bad central directory record at \(offset)") }
        let nameLength = try bytes.u16(offset + 28)
        let extraLength = try bytes.u16(offset + 30)
        let commentLength = try bytes.u16(offset + 32)
        let path = String(decoding: try bytes.slice(offset + 46, count: nameLength), as: UTF8.self)
        var size = try bytes.u32(offset + 24)
        var compressedSize = try bytes.u32(offset + 20)
        var localHeaderOffset = try bytes.u32(offset + 42)
        // ZIP64: the extra field with id 1 holds, in this order, the values that were too large for their slots.
        var extra = offset + 46 + nameLength
        let extraEnd = extra + extraLength
        while extra + 4 <= extraEnd {
            let (id, length) = (try bytes.u16(extra), try bytes.u16(extra + 2))
            if id == 1 {
                var field = extra + 4
                if size == 0xFFFF_FFFF { size = try bytes.u64(field); field += 8 }
                if compressedSize == 0xFFFF_FFFF { compressedSize = try bytes.u64(field); field += 8 }
                if localHeaderOffset == 0xFFFF_FFFF { localHeaderOffset = try bytes.u64(field) }
            }
            extra += 4 + length
        }
        let unixMode = (try bytes.u32(offset + 38)) >> 16 & 0o170000
        let madeOnUnix = (try bytes.u16(offset + 4)) >> 8 == 3
        let kind: Entry.Kind =
            if path.hasSuffix("/") || (madeOnUnix && unixMode == 0o040000) { .directory }
            else if madeOnUnix && unixMode == 0o120000 { .symlink }
            else { .file }
        let entry = Entry(
            path: path, kind: kind, method: try bytes.u16(offset + 10), isEncrypted: try bytes.u16(offset + 8) & 1 == 1,
            compressedSize: compressedSize, size: size, localHeaderOffset: localHeaderOffset)
        return (entry, extraEnd + commentLength)
    }

    /// Inflates raw deflate data until the stream ends or `limit` bytes are out.
    private static func inflate(_ input: Data, limit: Int, path: String) throws(ZipError) -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .unreadableEntry(path, "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data(count: limit)
        var status = Z_OK
        let produced = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: UInt8.self).baseAddress)
                stream.avail_in = UInt32(min(source.count, Int(UInt32.max)))
                stream.next_out = target.bindMemory(to: UInt8.self).baseAddress
                stream.avail_out = UInt32(target.count)
                status = CSystemZlib.inflate(&stream, Z_NO_FLUSH)
                return target.count - Int(stream.avail_out)
            }
        }
        guard status == Z_STREAM_END || (status == Z_OK && produced == limit) else {
            throw .unreadableEntry(path, status == Z_OK ? "deflate data ends early" : "corrupt deflate data (zlib \(status))")
        }
        return output.prefix(produced)
    }
}

/// Why an archive or one of its entries could not be read.
enum ZipError: Error, Equatable {
    case malformed(String)
    case unreadableEntry(String, String)

    /// The reason alone, for FAL's error `ctx`.
    var reason: String {
        switch self {
        case .malformed(let reason), .unreadableEntry(_, let reason): reason
        }
    }
}

/// Little-endian reads from the archive's bytes that fail, instead of trapping, past the end.
private struct ZipBytes {
    let data: Data
    init(_ data: Data) { self.data = data }

    var count: Int { data.count }

    func slice(_ offset: Int, count: Int) throws(ZipError) -> Data {
        guard offset >= 0, count >= 0, offset <= data.count - count else {
            throw .malformed("\(count) bytes at \(offset) lie past the end (\(data.count) bytes)")
        }
        let start = data.startIndex + offset
        return data[start..<start + count]
    }

    func u16(_ offset: Int) throws(ZipError) -> Int { try number(offset, 2) }
    func u32(_ offset: Int) throws(ZipError) -> Int { try number(offset, 4) }

    func u64(_ offset: Int) throws(ZipError) -> Int {
        let value = try number(offset, 8)
        guard value >= 0 else { throw .malformed("64-bit value at \(offset) out of range") }
        return value
    }

    private func number(_ offset: Int, _ width: Int) throws(ZipError) -> Int {
        let bytes = try slice(offset, count: width)
        return bytes.reversed().reduce(0) { $0 << 8 | Int($1) }
    }
}
