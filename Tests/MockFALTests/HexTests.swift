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

@Suite("UTC timestamps without a formatter")
struct UTCTimestampTests {
    @Test("ISO 8601 with milliseconds and SigV4's compact form, zero-padded; 999.5 ms rounds into the next second")
    func formats() {
        #expect(UTCTimestamp.iso8601(Date(timeIntervalSince1970: 1_790_000_000.123)) == "2026-09-21T14:13:20.123Z")
        #expect(UTCTimestamp.compact(Date(timeIntervalSince1970: 1_790_000_000.123)) == "20260921T141320Z")
        #expect(UTCTimestamp.iso8601(Date(timeIntervalSince1970: 946_684_799.9996)) == "2000-01-01T00:00:00.000Z")
        #expect(UTCTimestamp.iso8601(Date(timeIntervalSince1970: 61_200.007)) == "1970-01-01T17:00:00.007Z")
        #expect(UTCTimestamp.compact(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
    }
}
