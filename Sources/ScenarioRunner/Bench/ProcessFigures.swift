import Foundation
import SupportKit

/// Figures of the executables as separate processes: cold start to the first healthy answer, resident memory.
enum ProcessFigures {
    static func measure(binaries: URL, options: Bench.Options) async throws -> [BenchFigure] {
        var figures: [BenchFigure] = []
        let falPort = 18_787
        let (fal, falStart) = try await start(binaries.appendingPathComponent("mock-fal"), ["--port", "\(falPort)", "--step-duration", "1ms", "--log-level", "error"], [:], port: falPort)
        figures.append(BenchFigure(name: "mock-fal cold start", value: falStart * 1000, unit: "ms", note: "exec → first 200 on /health"))
        figures.append(BenchFigure(name: "mock-fal RSS idle", value: rss(fal.processIdentifier), unit: "MB", note: foundationNote(fal.processIdentifier)))
        let transport = AsyncHTTPClientTransport()
        let body = try (["prompt": "bench", "num_inference_steps": 1] as JSONValue).jsonData()
        let headers = [("Authorization", "Key bench"), ("Content-Type", "application/json")]
        _ = try await QueueLoad.measure(count: options.finishedJobs, clients: options.clients) { _ in
            try await transport.send(OutgoingRequest(method: "POST", url: "http://127.0.0.1:\(falPort)/fal-ai/flux-lora", headers: headers, body: body)).status
        }
        _ = try await transport.send(OutgoingRequest(method: "POST", url: "http://127.0.0.1:\(falPort)/_mock/wait-idle"))
        figures.append(BenchFigure(name: "mock-fal RSS after jobs", value: rss(fal.processIdentifier), unit: "MB", note: "\(options.finishedJobs) finished jobs"))
        fal.terminate()
        let aishaPort = 18_000
        let environment = [
            "TELEGRAM_BOT_TOKEN": "1:bench", "FAL_KEY": "bench", "TELEGRAM_MODE": "off", "PORT": "\(aishaPort)",
            "DATABASE_URL": "sqlite://:memory:", "STORAGE_URL": "memory://", "LOG_LEVEL": "error",
        ]
        let (aisha, aishaStart) = try await start(binaries.appendingPathComponent("aisha"), ["serve", "--env-file", "/nonexistent"], environment, port: aishaPort)
        figures.append(BenchFigure(name: "aisha serve cold start", value: aishaStart * 1000, unit: "ms", note: "exec → first 200 on /health"))
        figures.append(BenchFigure(name: "aisha serve RSS idle", value: rss(aisha.processIdentifier), unit: "MB", note: ""))
        aisha.terminate()
        figures.append(BenchFigure(name: "aisha-scenario RSS after the run", value: rss(ProcessInfo.processInfo.processIdentifier), unit: "MB", note: "this process"))
        return figures
    }

    /// Starts an executable and polls `/health` (without sleeping in between longer than a millisecond).
    static func start(_ executable: URL, _ arguments: [String], _ environment: [String: String], port: Int) async throws -> (Process, Double) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let begin = ContinuousClock.now
        try process.run()
        let transport = AsyncHTTPClientTransport()
        while (ContinuousClock.now - begin) < .seconds(30) {
            if let response = try? await transport.send(OutgoingRequest(url: "http://127.0.0.1:\(port)/health", timeout: .seconds(1))),
                response.status == 200
            {
                return (process, (ContinuousClock.now - begin).timeInterval)
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        process.terminate()
        throw StepFailure(message: "\(executable.lastPathComponent) did not answer /health within 30 s")
    }

    /// Whether the process mapped full Foundation (and with it ICU): 8 MB of mock-fal's idle RSS when it does.
    static func foundationNote(_ pid: Int32) -> String {
        guard let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8) else { return "" }
        return maps.contains("/libFoundation.so") ? "loads full Foundation + ICU" : "FoundationEssentials only"
    }

    /// Resident memory in MB from /proc.
    static func rss(_ pid: Int32) -> Double { ResidentMemory.megabytes(pid: pid) }
}
