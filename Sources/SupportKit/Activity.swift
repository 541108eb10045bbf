import Synchronization

/// Work in progress on virtual time. `VirtualClock` moves on only when nothing counted here is running, so events
/// happen in the order their times say however long each takes in real time.
///
/// Work is counted with tokens: `TimeSource.work` holds one for a scope (let go while the scope sleeps on the clock,
/// taken again by the clock when it wakes the sleeper), `TimeSource.task` from the moment a task is created, and
/// `TimeSource.hold` for work another task will pick up (a queued notification).
public final class Activity: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var running = 0
        var nextWaiter: UInt64 = 0
        var waiters: [Waiter] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Nothing counted is running.
    public var isIdle: Bool { state.withLock { $0.running <= 0 } }

    func enter() {
        state.withLock { $0.running += 1 }
    }

    func leave() {
        let waiters = state.withLock { state -> [Waiter] in
            state.running -= 1
            guard state.running <= 0 else { return [] }
            state.running = 0
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Waits until nothing counted is running, or `patience` has passed in real time (work that waits for something
    /// which itself waits for the clock must not stop time forever).
    public func waitUntilIdle(patience: Duration) async {
        let id = state.withLock { state -> UInt64? in
            guard state.running > 0 else { return nil }  // the usual case: no timer needed
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        let timeout = Task {
            try? await Task.sleep(for: patience)
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume()
        }
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                if state.running == 0 { return true }
                state.waiters.append(Waiter(id: id, continuation: continuation))
                return false
            }
            if idle { continuation.resume() }
        }
        timeout.cancel()
    }

    /// One unit of counted work: taken when made, given back by `release()` (once, however often it is called).
    public final class Token: Sendable {
        let activity: Activity
        private let held = Mutex(true)
        /// The task whose sleeps let this token go (the scope's own task), once known.
        private let owner = Mutex<Int?>(nil)

        init(_ activity: Activity) {
            self.activity = activity
            activity.enter()
        }

        public func release() {
            let wasHeld = held.withLock { held in
                defer { held = false }
                return held
            }
            if wasHeld { activity.leave() }
        }

        /// Counts again (the clock, just before it wakes this token's sleeping task).
        func reacquire() {
            let wasHeld = held.withLock { held in
                defer { held = true }
                return held
            }
            if !wasHeld { activity.enter() }
        }

        func adoptCurrentTask() {
            let id = withUnsafeCurrentTask { $0?.hashValue }
            owner.withLock { $0 = id }
        }

        var isOwnedByCurrentTask: Bool {
            let id = withUnsafeCurrentTask { $0?.hashValue }
            return id != nil && owner.withLock { $0 } == id
        }

        /// The token of the scope the current task runs in (`TimeSource.work` / `task`).
        @TaskLocal static var current: Token?
    }
}
