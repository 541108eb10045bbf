#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loopback ports for servers that must be told their port before they start (peers configured by URL).
public enum LoopbackPort {
    /// A TCP port on 127.0.0.1 that was free a moment ago, chosen below the kernel's ephemeral range: a server that
    /// stops and starts again on it (a scenario's mock Telegram and MockFAL, a restarted AishaSystem) cannot lose it
    /// in between to another server's port-0 bind or a client socket, which take their ports from that range.
    /// Never the same port twice in one process: two servers told their ports at once cannot be told the same one.
    public static func free() -> Int {
        let ephemeralLow = ephemeralRangeStart()
        if ephemeralLow > 12_000 {
            for _ in 0..<64 {
                let port = Int.random(in: 10_000..<ephemeralLow)
                guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
                if bindLoopback(port) == port { return port }
            }
        }
        return bindLoopback(0)  // the kernel's pick
    }

    private static let handedOut = Mutex<Set<Int>>([])

    /// The first port of `ip_local_port_range` (32768 where it cannot be read).
    private static func ephemeralRangeStart() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
            let low = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap({ Int($0) })
        else { return 32_768 }
        return low
    }

    /// Binds a socket to `port` on 127.0.0.1 and closes it; the port it got, or -1.
    private static func bindLoopback(_ port: Int) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { return -1 }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
