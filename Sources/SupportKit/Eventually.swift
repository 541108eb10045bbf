/// Waits, in real time and without sleeping, until `condition` holds: for checks on work that other tasks (or
/// servers on loopback) finish on their own. Returns false when `timeout` passes first.
public func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        await Task.yield()
    }
    return try await condition()
}
