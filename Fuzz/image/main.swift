import Foundation
import SupportKit

/// ImageProbe on any bytes: a format and a positive size, or nil — never a trap or a read past the end.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let info = ImageProbe.probe(data) else { return 0 }
    precondition(info.width > 0 && info.height > 0, "\(info) from \(count) bytes")
    precondition(ImageProbe.probe(data.dropFirst(0)) == info, "a slice of the same bytes reads differently")
    return 0
}
