import Foundation
import ScenarioRunner
import Testing

/// The scenario folder of this package, found from this file's path.
let scenarioFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scenarios").path

let scenarioFiles: [String] = (try? ScenarioParser.files(in: [scenarioFolder])) ?? []

@Suite("Every scenario in scenarios/ passes")
struct ScenarioFileTests {
    @Test("scenarios/ is not empty")
    func notEmpty() {
        #expect(scenarioFiles.count >= 10)
    }

    @Test("scenario", arguments: scenarioFiles)
    func scenario(file: String) async throws {
        try await play(file, options: RunOptions())
    }
}

/// The same suite on PostgreSQL + S3 (moto), with the servers `.ci/run` starts (`.ci/postgres`, `.ci/moto`).
@Suite(
    "Every scenario in scenarios/ passes on PostgreSQL + S3",
    .enabled(if: SharedBackends.options != nil, "needs AISHA_TEST_DATABASE_URL and AISHA_TEST_S3_ENDPOINT (bash .ci/postgres, bash .ci/moto)"))
struct SharedBackendScenarioTests {
    @Test("scenario on PostgreSQL + S3", arguments: scenarioFiles)
    func scenario(file: String) async throws {
        try await play(file, options: try #require(SharedBackends.options))
    }
}

enum SharedBackends {
    static var options: RunOptions? {
        let env = ProcessInfo.processInfo.environment
        guard let database = env["AISHA_TEST_DATABASE_URL"], !database.isEmpty, let s3 = env["AISHA_TEST_S3_ENDPOINT"], !s3.isEmpty else { return nil }
        var options = RunOptions()
        options.backends = try! ScenarioBackends(postgresURL: database, s3URL: "s3://aisha-scenario?endpoint=\(s3)", s3AccessKey: "test", s3SecretKey: "test")
        options.backends.lacks = [.expiringArchiveURLs]  // moto accepts expired presigned URLs
        return options
    }
}

/// Plays every scenario of a file and records each failure with its step and line.
func play(_ file: String, options: RunOptions) async throws {
    for scenario in try ScenarioParser.load(file: file) {
        let result = await ScenarioRunner.run(scenario, options: options)
        if case .skipped = result.outcome, !scenario.needs.isDisjoint(with: options.backends.lacks) { continue }
        if case .failed(let step, let line, let summary, let failure) = result.outcome {
            let logs = result.logTail.map { "  log: \($0.prefix(300))" }.joined(separator: "\n")
            Issue.record("\(scenario.name): step \(step) at \((file as NSString).lastPathComponent):\(line) — \(summary)\n\(failure)\n\(logs)")
        }
        #expect(result.passed, "\(scenario.name) (\(options.backends.description))")
    }
}
