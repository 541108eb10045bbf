import Foundation
import MockFAL
@testable import ScenarioRunner
import SupportKit
import Testing

let recordingsFolder = URL(fileURLWithPath: scenarioFolder).deletingLastPathComponent().appendingPathComponent("contracts/recordings").path

/// `contracts diff-recordings`: recorded exchanges replayed against MockFAL, compared by shape.
@Suite("Behavioural drift: recordings replayed against MockFAL")
struct RecordingReplayTests {
    @Test("the committed recordings replay without drift")
    func committedRecordings() async throws {
        let drifts = try await RecordingReplay.diff(folder: recordingsFolder)
        #expect(drifts.count >= 5)
        #expect(drifts.allSatisfy { $0.lines.isEmpty }, "\(RecordingReplay.report(drifts))")
        let kinds = Set(try Recording.load(folder: recordingsFolder).flatMap { $0.recording.exchanges.map(\.kind) })
        #expect(kinds == Set(CallKind.allCases), "submit, status, result, cancel and webhook are all covered")
    }

    @Test("a doctored recording produces exactly its drift, and values (ids, URLs, times) never count")
    func doctored() async throws {
        let (_, original) = try #require(try Recording.load(folder: recordingsFolder).first { $0.file.contains("d5fe0b66") })
        var recording = original
        func index(_ kind: CallKind, status: String? = nil) throws -> Int {
            try #require(recording.exchanges.firstIndex { $0.kind == kind && (status == nil || $0.response.body?["status"]?.stringValue == status) })
        }
        func edit(_ at: Int, _ change: (inout [String: JSONValue]) -> Void) {
            var body = recording.exchanges[at].response.body?.objectValue ?? [:]
            change(&body)
            recording.exchanges[at].response.body = .object(body)
        }
        let submit = try index(.submit)
        edit(submit) { $0["status"] = "QUEUED"; $0["request_id"] = "another-id"; $0["status_url"] = "https://elsewhere.example/x" }
        let completed = try index(.status, status: "COMPLETED")
        edit(completed) { $0["logs"] = nil; $0["metrics"] = ["inference_time": "slow"] }
        let result = try index(.result)
        recording.exchanges[result].response.status = 201
        let webhook = try index(.webhook)
        recording.exchanges[webhook].request.headers["x-fal-webhook-user-id"] = nil
        if case .object(var body) = recording.exchanges[webhook].request.body {
            body["payload_error"] = .null
            recording.exchanges[webhook].request.body = .object(body)
        }
        let lines = try await RecordingReplay.replay(recording)
        #expect(
            Set(lines) == [
                "submit #\(submit + 1) body.status: FAL QUEUED, MockFAL IN_QUEUE",
                "status #\(completed + 1) body.logs: MockFAL answers it, FAL did not",
                "status #\(completed + 1) body.metrics.inference_time: FAL string, MockFAL number",
                "result #\(result + 1): HTTP 201 from FAL, 200 from MockFAL",
                "webhook #\(webhook + 1): header x-fal-webhook-user-id sent by MockFAL, not by FAL",
                "webhook #\(webhook + 1) body.payload_error: missing in MockFAL's answer",
            ], "\(lines)")
        #expect(try await RecordingReplay.replay(original).isEmpty)
    }

    @Test("a status sequence MockFAL does not follow is drift")
    func sequence() async throws {
        let (_, original) = try #require(try Recording.load(folder: recordingsFolder).first { $0.file.contains("45885e41") })
        var recording = original
        let queued = try #require(recording.exchanges.firstIndex { $0.response.body?["status"] == "IN_QUEUE" && $0.kind == .status })
        let progress = try #require(recording.exchanges.firstIndex { $0.response.body?["status"] == "IN_PROGRESS" })
        recording.exchanges.swapAt(queued, progress)
        let lines = try await RecordingReplay.replay(recording)
        #expect(lines.contains("status sequence: FAL IN_PROGRESS → IN_QUEUE, MockFAL IN_PROGRESS"), "\(lines)")
    }

    @Test("shapes: numbers are one kind, nulls and missing keys are named, enum values compared, array lengths are values")
    func shapes() {
        #expect(ShapeDiff.compare(["a": 1], ["a": 2.5], path: "b").isEmpty)
        #expect(ShapeDiff.compare(["a": .null], ["a": "x"], path: "b") == ["b.a: FAL null, MockFAL string"])
        #expect(ShapeDiff.compare(["logs": [["level": "INFO"]]], ["logs": []], path: "b").isEmpty)
        #expect(ShapeDiff.compare(["logs": [["level": "INFO"]]], ["logs": [["level": "DEBUG"]]], path: "b") == ["b.logs[].level: FAL INFO, MockFAL DEBUG"])
        #expect(ShapeDiff.compare(["url": "https://a"], ["url": "http://b"], path: "b").isEmpty)
    }
}
