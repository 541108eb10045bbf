#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// UTC timestamps for wire formats, without a `DateFormatter` (whose ICU set-up dominated hot request paths).
public enum UTCTimestamp {
    /// `2026-09-21T14:13:20.000Z` (ISO 8601 / RFC 3339 with milliseconds).
    public static func iso8601(_ date: Date) -> String {
        let (t, millis) = parts(date)
        let f = fields(t)
        return "\(f.year)-\(f.month)-\(f.day)T\(f.hour):\(f.minute):\(f.second).\(digits(millis, 3))Z"
    }

    /// `20260921T141320Z` (the compact form SigV4 uses).
    public static func compact(_ date: Date) -> String {
        let f = fields(parts(date).0)
        return "\(f.year)\(f.month)\(f.day)T\(f.hour)\(f.minute)\(f.second)Z"
    }

    /// The calendar fields of `t`, zero-padded (four digits for the year, two for the rest).
    private static func fields(_ t: tm) -> (year: String, month: String, day: String, hour: String, minute: String, second: String) {
        (digits(Int(t.tm_year) + 1900, 4), digits(Int(t.tm_mon) + 1, 2), digits(Int(t.tm_mday), 2), digits(Int(t.tm_hour), 2),
         digits(Int(t.tm_min), 2), digits(Int(t.tm_sec), 2))
    }

    /// `value` in decimal, zero-padded to `width` digits.
    private static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    private static func parts(_ date: Date) -> (tm, Int) {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        var millis = Int(((interval - Double(seconds)) * 1000).rounded())
        if millis == 1000 {
            seconds += 1
            millis = 0
        }
        var result = tm()
        gmtime_r(&seconds, &result)
        return (result, millis)
    }
}
