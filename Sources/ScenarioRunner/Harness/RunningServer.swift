import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A Hummingbird application running in the background of this process, on the port it bound.
final class RunningServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    private init(port: Int, group: ServiceGroup, task: Task<Void, Never>) {
        self.port = port
        self.group = group
        self.task = task
    }

    /// Starts the application `make` builds (handing it the on-running hook) and waits until it listens.
    static func start<App: ApplicationProtocol>(
        logger: Logger, _ make: (@escaping @Sendable (any Channel) async -> Void) -> App
    ) async throws -> RunningServer {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = make { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let failure = Failure()
        let task = Task {
            do { try await group.run() } catch { failure.set(error) }
            continuation.finish()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            throw HarnessError.serverDidNotStart(failure.get().map { "\($0)" } ?? "no port")
        }
        return RunningServer(port: port, group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}

/// The first error of a background task.
private final class Failure: Sendable {
    private let error = Mutex<(any Error)?>(nil)
    func set(_ value: any Error) { error.withLock { $0 = value } }
    func get() -> (any Error)? { error.withLock { $0 } }
}

enum HarnessError: Error, CustomStringConvertible {
    case serverDidNotStart(String)

    var description: String {
        switch self {
        case .serverDidNotStart(let why): "a server did not start: \(why)"
        }
    }
}
