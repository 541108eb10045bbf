import Foundation

/// ZipArchive on any bytes: it reads the central directory and every entry's first 64 KiB or refuses with a
/// ZipError — never a trap, never a read outside the buffer (AddressSanitizer), never an allocation beyond the
/// limit it is given (run with -malloc_limit_mb).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZip(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let archive = try? ZipArchive(data) else { return 0 }
    precondition(archive.entries.count <= count / 46, "\(archive.entries.count) entries in \(count) bytes")
    for entry in archive.entries {
        guard let head = try? archive.prefix(of: entry, limit: 64 * 1024) else { continue }
        precondition(head.count <= 64 * 1024, "\(head.count) bytes read past the limit")
        if entry.method == 0 { precondition(head.count <= count, "a stored entry longer than the archive") }
    }
    return 0
}
