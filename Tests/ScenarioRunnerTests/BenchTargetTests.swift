import Foundation
import ScenarioRunner
import Testing

@Suite("Benchmark targets")
struct BenchTargetTests {
    @Test("figures carry issue 8's targets by name and are met or missed by their value; others have none")
    func targets() throws {
        #expect(BenchFigure(name: "lifecycle median", value: 49.9, unit: "ms", note: "").met == true)
        #expect(BenchFigure(name: "lifecycle median", value: 50.1, unit: "ms", note: "").met == false)
        #expect(BenchFigure(name: "mock-fal status", value: 19_999, unit: "req/s", note: "").met == false)
        #expect(BenchFigure(name: "status_update ingestion (SQLite)", value: 5_000, unit: "hook/s", note: "").met == true)
        #expect(BenchFigure(name: "mock-fal RSS idle", value: 30.5, unit: "MB", note: "").target?.description == "≤ 30")
        #expect(BenchFigure(name: "suite --jobs 2", value: 5.1, unit: "s", note: "", target: BenchTarget(bound: .atMost, value: 5)).met == false)
        #expect(BenchFigure(name: "suite --jobs 2", value: 9, unit: "s", note: "12 scenarios, 0 failed").target == nil)
        #expect(BenchFigure(name: "outbox delivery (SQLite)", value: 1, unit: "msg/s", note: "").target == nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(BenchFigure(name: "lifecycle median", value: 42, unit: "ms", note: "")), as: UTF8.self)
        #expect(json.contains(#""target":{"bound":"≤","value":50}"#))
    }
}
