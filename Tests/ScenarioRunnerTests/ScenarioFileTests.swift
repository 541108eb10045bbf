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
        let scenarios = try ScenarioParser.load(file: file)
        for scenario in scenarios {
            let result = await ScenarioRunner.run(scenario, options: RunOptions())
            if case .failed(let step, let line, let summary, let failure) = result.outcome {
                Issue.record("\(scenario.name): step \(step) at \((file as NSString).lastPathComponent):\(line) — \(summary)\n\(failure)")
            }
            #expect(result.passed, "\(scenario.name)")
        }
    }
}
