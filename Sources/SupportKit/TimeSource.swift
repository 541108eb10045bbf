import Clocks
import Foundation

/// The injected notion of time: a clock to sleep on and the wall-clock date that clock stands for.
///
/// Live code uses `.live` (ContinuousClock + `Date()`); tests and the scenario runner use `.virtual`, a
/// `TestClock` whose advances move the dates too, so a 20-minute training takes no real time.
public struct TimeSource: Sendable {
    public let clock: AnyClock<Duration>
    private let origin: AnyClock<Duration>.Instant
    private let originDate: Date
    /// The test clock behind a virtual time source, for code that advances it (control API, scenario steps).
    public let testClock: TestClock<Duration>?

    private init(clock: AnyClock<Duration>, originDate: Date, testClock: TestClock<Duration>?) {
        self.clock = clock
        self.origin = clock.now
        self.originDate = originDate
        self.testClock = testClock
    }

    public static var live: TimeSource {
        TimeSource(clock: AnyClock(ContinuousClock()), originDate: Date(), testClock: nil)
    }

    /// Virtual time, starting at `start`, moved only by `advance`.
    public static func virtual(_ clock: TestClock<Duration> = TestClock(), start: Date = Date()) -> TimeSource {
        TimeSource(clock: AnyClock(clock), originDate: start, testClock: clock)
    }

    public var isVirtual: Bool { testClock != nil }

    /// The current date on this time source.
    public func now() -> Date {
        originDate.addingTimeInterval(origin.duration(to: clock.now).timeInterval)
    }

    /// Sleeps on the clock (virtual sleeps end only when the clock is advanced).
    public func sleep(for duration: Duration) async throws {
        guard duration > .zero else { return try Task.checkCancellation() }
        try await clock.sleep(until: clock.now.advanced(by: duration), tolerance: nil)
    }

    /// Sleeps until the clock shows `date`.
    public func sleep(until date: Date) async throws {
        let wait = date.timeIntervalSince(now())
        if wait > 0 { try await sleep(for: .seconds(wait)) }
    }

    /// Advances virtual time, running every sleeper whose deadline passes. No effect on live time.
    public func advance(by duration: Duration) async {
        await testClock?.advance(by: duration)
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    public var timeInterval: TimeInterval {
        let parts = components
        return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
    }

    /// Parses `500ms`, `1s`, `15m`, `2h`, `1.5s` or a bare number of seconds.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let value = Double(trimmed.dropLast(suffix.count)), value >= 0 else { return nil }
            self = .milliseconds(Int64((value * factor * 1000).rounded()))
            return
        }
        guard let seconds = Double(trimmed), seconds >= 0 else { return nil }
        self = .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
