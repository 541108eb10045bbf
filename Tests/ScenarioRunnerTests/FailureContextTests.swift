import Foundation
@testable import ScenarioRunner
import SupportKit
import Testing

/// Failures point at the cause: refused submits named, the decisive field first, every FAL call in the context.
@Suite("Failure context")
struct FailureContextTests {
    @Test("an expectation on a FAL job that never existed names the submits FAL refused, with their status")
    func refusedSubmitsNamed() async throws {
        let scenario = try ScenarioParser.parse(
            """
            name: refused submits
            user: { id: 1, first_name: Test }
            faults:
              - { times: 3, fault: { submit_status: 503, retry_after_seconds: 1 } }
            steps:
              - send: /start
              - tap: "Создать аватар"
              - send: "Тест"
              - tap: "Женский"
              - tap: "Портретный"
              - photos: { count: 10 }
              - tap: "Готово"
              - tap: "Начать обучение"
              - expect_fal_job: { status: COMPLETED }
            """, file: "refused.yaml")[0]
        let result = await ScenarioRunner.run(scenario, options: RunOptions())
        guard case .failed(_, _, _, let failure) = result.outcome else {
            Issue.record("passed: \(result.outcome)")
            return
        }
        #expect(failure.contains("no MockFAL job"), "\(failure)")
        #expect(failure.contains("refused submit: POST /fal-ai/flux-lora-portrait-trainer → 503"), "\(failure)")
        let report = ConsoleReport.summary([result])
        #expect(report.contains("FAL calls and webhooks"), "\(report)")
    }

    @Test("the chat says which message an edit changed: the cancel button of \"training started\" going when the training ends")
    func editsNameTheirMessage() async throws {
        let (scenarios, _) = try ScenarioRunner.load(paths: ["\(scenarioFolder)/cancel-button-goes-when-training-ends.yaml"], filter: nil, seed: 1)
        let result = await ScenarioRunner.run(try #require(scenarios.first), options: RunOptions())
        #expect(result.passed, "\(result.outcome)")
        let edits = result.timeline.filter { $0.kind == .edit }.map(\.text)
        #expect(edits.suffix(2) == ["keyboard removed of «🎭 Портретное обучение запущено для аватара «Вер…»", "keyboard removed of «Отменить обучение аватара «Вера»? Списанные 150…»"], "\(edits)")
    }

    @Test("a diff puts the decisive field first")
    func decisiveFirst() {
        let diff = Matching.diff(["finetune_id": "a", "status": "completed", "attempt": 2], ["finetune_id": "b", "status": "error", "attempt": 1])
        #expect(diff.first?.hasPrefix("status:") == true, "\(diff)")
        #expect(diff.dropFirst().first?.hasPrefix("attempt:") == true, "\(diff)")
    }

    @Test("repeated FAL calls collapse into one line with a count")
    func collapsed() {
        #expect(ConsoleReport.collapsed(["a", "a", "a", "b", "a"]) == ["a ×3", "b", "a"])
    }
}
