#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Resident memory of a process, read from `/proc` (Linux; 0 where it is not available).
public enum ResidentMemory {
    /// In MiB; `pid` defaults to this process.
    public static func megabytes(pid: Int32? = nil) -> Double {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        guard let status = try? String(contentsOfFile: path, encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = line.split(separator: " ").compactMap({ Double($0) }).first
        else { return 0 }
        return kb / 1024
    }
}
