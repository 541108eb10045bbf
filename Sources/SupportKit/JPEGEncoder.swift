#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes small, valid baseline JPEG files of any size without an image library: a uniform mid-grey image (every
/// 8×8 block has only a zero DC difference and an end-of-block), with the seed in a comment so different seeds give
/// different bytes.
public enum JPEGEncoder {
    public static func grey(width: Int, height: Int, seed: UInt64) -> Data {
        var out = Data([0xFF, 0xD8])
        segment(&out, 0xFE, Data("aisha-scenario \(seed)".utf8))
        segment(&out, 0xDB, Data([0x00] + Array(repeating: 1, count: 64)))  // quantisation table 0: all ones
        segment(&out, 0xC0, Data([8, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 1, 1, 0x11, 0]))
        // One-symbol Huffman tables: DC category 0 and AC end-of-block, each coded as the single bit 0.
        segment(&out, 0xC4, Data([0x00, 1] + Array(repeating: 0, count: 15) + [0x00]))
        segment(&out, 0xC4, Data([0x10, 1] + Array(repeating: 0, count: 15) + [0x00]))
        segment(&out, 0xDA, Data([1, 1, 0x00, 0, 63, 0]))
        let blocks = ((width + 7) / 8) * ((height + 7) / 8)
        let bits = blocks * 2
        out.append(Data(repeating: 0, count: bits / 8))
        if bits % 8 != 0 { out.append(UInt8(0xFF >> (bits % 8))) }  // pad the last byte with ones
        out.append(contentsOf: [0xFF, 0xD9])
        return out
    }

    private static func segment(_ out: inout Data, _ marker: UInt8, _ payload: Data) {
        let length = payload.count + 2
        out.append(contentsOf: [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)])
        out.append(payload)
    }
}
