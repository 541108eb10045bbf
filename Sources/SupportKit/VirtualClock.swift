import Synchronization

/// A clock that moves only when advanced, one deadline at a time: it wakes the sleepers due next, then waits until
/// the work they do (counted by `activity`) has finished or sleeps again before time moves on. An idle timer costs no
/// real time, and a poll that takes long in real time still happens before the next event on the clock.
public final class VirtualClock: Clock, Sendable {
    public struct Instant: InstantProtocol {
        public var offset: Duration
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        let id: UInt64
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
        /// The sleeping scope's token, counted again before it wakes; nil for a sleeper outside any scope.
        let token: Activity.Token?
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextId: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Work started by this clock's sleepers (and anything else counted on it).
    public let activity = Activity()
    /// How long advancing waits for counted work before it moves on anyway (generous: a loaded CI machine is slow).
    let patience: Duration

    public init(patience: Duration = .seconds(30)) {
        self.patience = patience
    }

    public var now: Instant { state.withLock { $0.now } }
    /// How many sleeps have begun on this clock: a count that grew while nothing runs means some work now waits on it.
    public var sleepsBegun: UInt64 { state.withLock { $0.nextId } }
    /// The earliest deadline a sleeper waits for.
    public var nextDeadline: Instant? { state.withLock { $0.sleepers.lazy.map(\.deadline).min() } }
    public var minimumResolution: Duration { .zero }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextId += 1
            return state.nextId
        }
        let token = Activity.Token.current.flatMap { $0.activity === activity && $0.isOwnedByCurrentTask ? $0 : nil }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation, token: token))
                    return false
                }
                if resumeNow {
                    continuation.resume()
                } else {
                    token?.release()  // asleep: not running, so time may move
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Moves time forward by `duration`: deadline by deadline, waking the sleepers due and letting their work finish.
    public func advance(by duration: Duration) async {
        let target = state.withLock { $0.now.advanced(by: duration) }
        while true {
            await settle()
            let due = state.withLock { state -> [Sleeper] in
                guard let next = state.sleepers.lazy.map(\.deadline).min(), next <= target else {
                    state.now = max(state.now, target)
                    return []
                }
                state.now = max(state.now, next)
                let due = state.sleepers.filter { $0.deadline == next }
                state.sleepers.removeAll { $0.deadline == next }
                return due
            }
            if due.isEmpty { break }
            for sleeper in due {
                sleeper.token?.reacquire()  // counted before it runs: no moment in which all looks idle
                sleeper.continuation.resume()
            }
            // A sleeper outside any scope is not counted: give it a moment to get going.
            if due.contains(where: { $0.token == nil }) {
                for _ in 0..<8 { await Task.yield() }
            }
        }
        await settle()
    }

    /// Waits until the counted work has finished (or `patience` has passed).
    public func settle() async {
        await activity.waitUntilIdle(patience: patience)
    }
}
