import Foundation
import Logging
import MockFAL
import SupportKit

/// MockFAL over loopback: submits and status polls from concurrent clients.
enum QueueLoad {
    static func statusThroughput(_ options: Bench.Options) async throws -> [BenchFigure] {
        var configuration = MockFALConfiguration(contracts: try .bundled())
        configuration.port = 0
        configuration.stepDuration = .seconds(3600)
        let quiet = Logger.quiet("bench")
        let queue = FALQueue(configuration: configuration, logger: quiet)
        let server = try await RunningServer.start(logger: quiet) { running in
            MockFAL.buildApplication(configuration, queue: queue, logger: quiet, onServerRunning: running)
        }
        defer { Task { await server.stop() } }
        let base = "http://127.0.0.1:\(server.port)"
        let transport = AsyncHTTPClientTransport()
        let headers = [("Authorization", "Key bench"), ("Content-Type", "application/json")]
        let body = try (["prompt": "bench", "num_inference_steps": 28] as JSONValue).jsonData()
        let submits = max(options.clients * 10, 200)
        let (submitSeconds, submitLatencies, ids) = try await measure(count: submits, clients: options.clients) { _ in
            let response = try await transport.send(OutgoingRequest(method: "POST", url: "\(base)/fal-ai/flux-lora", headers: headers, body: body))
            return (try? JSONValue.parse(response.body))?["request_id"]?.stringValue
        }
        let known = ids.compactMap { $0 }
        let (statusSeconds, statusLatencies, _) = try await measure(count: options.statusRequests, clients: options.clients) { index in
            let id = known[index % known.count]
            _ = try await transport.send(OutgoingRequest(url: "\(base)/fal-ai/flux-lora/requests/\(id)/status", headers: headers))
            return nil as String?
        }
        return [
            BenchFigure(name: "mock-fal submit", value: Double(submits) / submitSeconds, unit: "req/s", note: "\(options.clients) clients, p50 \(ms(submitLatencies, 50)) ms, p99 \(ms(submitLatencies, 99)) ms"),
            BenchFigure(
                name: "mock-fal status", value: Double(options.statusRequests) / statusSeconds, unit: "req/s",
                note: "\(options.clients) clients, p50 \(ms(statusLatencies, 50)) ms, p99 \(ms(statusLatencies, 99)) ms"),
        ]
    }

    /// Runs `count` requests spread over `clients` concurrent tasks; returns the wall time, each latency and results.
    static func measure<T: Sendable>(
        count: Int, clients: Int, _ request: @escaping @Sendable (Int) async throws -> T
    ) async throws -> (Double, [Double], [T]) {
        let start = ContinuousClock.now
        let perClient = (count + clients - 1) / clients
        let collected = try await withThrowingTaskGroup(of: [(Double, T)].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var results: [(Double, T)] = []
                    for index in min(count, client * perClient)..<min(count, (client + 1) * perClient) {
                        let begin = ContinuousClock.now
                        let value = try await request(index)
                        results.append(((ContinuousClock.now - begin).timeInterval, value))
                    }
                    return results
                }
            }
            var all: [(Double, T)] = []
            for try await part in group { all += part }
            return all
        }
        return ((ContinuousClock.now - start).timeInterval, collected.map(\.0), collected.map(\.1))
    }

    static func ms(_ values: [Double], _ p: Double) -> String { String(format: "%.2f", Bench.percentile(values, p) * 1000) }
}
