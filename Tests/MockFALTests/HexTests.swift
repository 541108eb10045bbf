import Foundation
import SupportKit
import Testing

@Suite("hex encoding")
struct HexTests {
    @Test("every byte value encodes as two lowercase digits and decodes back")
    func roundTrip() throws {
        let all = Data((0...255).map { UInt8($0) })
        let hex = all.hexString
        #expect(hex.count == 512)
        #expect(hex.hasPrefix("000102") && hex.hasSuffix("fdfeff"))
        #expect(hex == all.map { String(format: "%02x", $0) }.joined())
        #expect(Data(hexString: hex) == all)
        #expect(Data().hexString.isEmpty)
    }
}
