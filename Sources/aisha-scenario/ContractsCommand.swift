import ArgumentParser
import Foundation
import MockFAL
import ScenarioRunner

/// `aisha-scenario contracts`: keeps MockFAL's contract files honest against FAL's published schemas.
struct ContractsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contracts", abstract: "Compare MockFAL's contracts with FAL's published OpenAPI schemas.",
        subcommands: [Check.self, Fetch.self, DiffRecordings.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report fields added, removed or changed upstream, per app; exit code 1 on any drift.")

        @Option(help: "Folder of FAL's OpenAPI documents.") var upstream = "contracts/upstream"
        @Option(help: "Folder of contract files (default: the ones MockFAL ships).") var contracts: String?

        func run() async throws {
            let catalog = try contracts.map { try ContractCatalog.load(from: $0) } ?? ContractCatalog.bundled()
            let drifts = ContractDrift.check(contracts: catalog, upstream: URL(fileURLWithPath: upstream))
            print(ContractDrift.report(drifts))
            if drifts.contains(where: { !$0.isClean }) { throw ExitCode(1) }
        }
    }

    struct DiffRecordings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff-recordings",
            abstract: "Replay recorded FAL exchanges against MockFAL and compare the answers by shape; exit code 1 on drift.")

        @Argument(help: "Folder of recordings (aisha-scenario run --fal real --record DIR, or mock-fal --record DIR).")
        var folder = "contracts/recordings"

        func run() async throws {
            let drifts = try await RecordingReplay.diff(folder: folder)
            print(RecordingReplay.report(drifts))
            if drifts.isEmpty { throw ValidationError("no recordings in \(folder)") }
            if drifts.contains(where: { !$0.lines.isEmpty }) { throw ExitCode(1) }
        }
    }

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download FAL's current OpenAPI documents into the snapshot folder (needs network).")

        @Argument(help: "App ids (default: every app MockFAL has a contract for).") var apps: [String] = []
        @Option(help: "Folder to write.") var out = "contracts/upstream"
        @Option(name: .customLong("from"), help: "Base URL the app id is appended to.") var base = ContractDrift.fetchURL

        func run() async throws {
            let ids = apps.isEmpty ? try ContractCatalog.bundled().contracts.keys.sorted() : apps
            for file in try await ContractDrift.fetch(appIds: ids, into: URL(fileURLWithPath: out), base: base) { print("wrote \(file)") }
        }
    }
}
