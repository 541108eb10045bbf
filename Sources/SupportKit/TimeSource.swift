#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The injected notion of time: a clock to sleep on and the wall-clock date that clock stands for.
///
/// Live code uses `.live` (ContinuousClock + `Date()`); tests and the scenario runner use `.virtual`, a
/// `VirtualClock` whose advances move the dates too, so a 20-minute training takes no real time.
///
/// Code that runs on a time source says which of its work counts (`work`, `task`, `hold`): on virtual time the clock
/// moves on only when that work has finished or sleeps on the clock; on live time these cost nothing.
public struct TimeSource: Sendable {
    /// The clock, and where it stood when `originDate` was read.
    private enum Origin: Sendable {
        case live(ContinuousClock.Instant)
        case virtual(VirtualClock, VirtualClock.Instant)
    }

    private let origin: Origin
    private let originDate: Date

    public static var live: TimeSource {
        TimeSource(origin: .live(ContinuousClock.now), originDate: Date())
    }

    /// Virtual time, starting at `start`, moved only by `advance`.
    public static func virtual(_ clock: VirtualClock = VirtualClock(), start: Date = Date()) -> TimeSource {
        TimeSource(origin: .virtual(clock, clock.now), originDate: start)
    }

    /// The clock behind a virtual time source, for code that advances it (control API, scenario steps).
    public var virtualClock: VirtualClock? {
        if case .virtual(let clock, _) = origin { return clock }
        return nil
    }

    public var isVirtual: Bool { virtualClock != nil }

    /// The current date on this time source.
    public func now() -> Date {
        switch origin {
        case .live(let instant): originDate.addingTimeInterval(instant.duration(to: .now).timeInterval)
        case .virtual(let clock, let instant): originDate.addingTimeInterval(instant.duration(to: clock.now).timeInterval)
        }
    }

    /// Sleeps on the clock (virtual sleeps end only when the clock is advanced).
    public func sleep(for duration: Duration) async throws {
        guard duration > .zero else { return try Task.checkCancellation() }
        if let virtualClock {
            try await virtualClock.sleep(until: virtualClock.now.advanced(by: duration))
        } else {
            try await Task.sleep(for: duration)
        }
    }

    /// Sleeps until the clock shows `date`.
    public func sleep(until date: Date) async throws {
        let wait = date.timeIntervalSince(now())
        if wait > 0 { try await sleep(for: .seconds(wait)) }
    }

    /// Advances virtual time, running every sleeper whose deadline passes and letting its work finish. No effect
    /// on live time.
    public func advance(by duration: Duration) async {
        await virtualClock?.advance(by: duration)
    }

    /// Waits until the counted work has finished (virtual time; returns at once on live time).
    public func settle() async {
        await virtualClock?.settle()
    }

    /// Runs `body` as counted work. It may sleep on the clock (it stops counting while asleep) but should not wait for
    /// anything else that needs the clock to move; `idle` marks such waits.
    public func work<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async rethrows -> T {
        guard let virtualClock else { return try await body() }
        let token = Activity.Token(virtualClock.activity)
        defer { token.release() }
        return try await Activity.Token.$current.withValue(token) {
            token.adoptCurrentTask()
            return try await body()
        }
    }

    /// Starts a task that counts as work from this moment, before it first runs, until it ends.
    @discardableResult
    public func task(_ body: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        guard let virtualClock else { return Task { await body() } }
        let token = Activity.Token(virtualClock.activity)
        return Task {
            await Activity.Token.$current.withValue(token) {
                token.adoptCurrentTask()
                await body()
            }
            token.release()
        }
    }

    /// Counts work that another task will take up (a queued notification): released by whoever does it.
    public func hold() -> Activity.Token? {
        virtualClock.map { Activity.Token($0.activity) }
    }

    /// Runs `body`, a wait for something other than the clock (a kick), without counting as work; whoever ends the
    /// wait must count what follows (`hold`).
    public func idle<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async rethrows -> T {
        guard let token = Activity.Token.current, token.isOwnedByCurrentTask else { return try await body() }
        token.release()
        defer { token.reacquire() }
        return try await body()
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
        let trimmed = text.trimming(while: \.isWhitespace).lowercased()
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
