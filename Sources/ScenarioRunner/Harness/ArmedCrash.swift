import AishaSystem
import Synchronization

/// `crash_at`: the first time a training start reaches the point, AishaSystem dies there — the start throws and
/// nothing after it runs, no clean-up — and the runner starts the system again after the step.
final class ArmedCrash: Sendable {
    struct Crashed: Error, CustomStringConvertible {
        var point: CrashPoint
        var description: String { "simulated crash at \(point.rawValue)" }
    }

    private let state: Mutex<(point: CrashPoint?, fired: CrashPoint?, restartDue: Bool)>

    init(_ point: CrashPoint?) { state = Mutex((point, nil, false)) }

    /// Where the system died, once it has.
    var fired: CrashPoint? { state.withLock { $0.fired } }

    /// The system's checkpoint hook: throws once, at the armed point.
    func reached(_ checkpoint: Checkpoint) throws {
        let fired = state.withLock { state -> CrashPoint? in
            guard let point = state.point, point.checkpoint == checkpoint else { return nil }
            state = (nil, point, true)
            return point
        }
        if let fired { throw Crashed(point: fired) }
    }

    /// Whether the system crashed since the last call and must be started again.
    func takeRestartDue() -> Bool {
        state.withLock { state in
            defer { state.restartDue = false }
            return state.restartDue
        }
    }
}
