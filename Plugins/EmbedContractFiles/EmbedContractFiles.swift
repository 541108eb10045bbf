import Foundation
import PackagePlugin

/// Embeds MockFAL's contract files (`Contracts/apps/*.json`) in the module as string constants, so `mock-fal`
/// needs no resource bundle — SwiftPM's bundle accessor would link all of Foundation (and ICU) into it.
@main
struct EmbedContractFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = target.directoryURL.appending(path: "Contracts/apps")
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedContractFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) contract files of \(target.name)",
                executable: try context.tool(named: "embed-contract-files").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output])
        ]
    }
}
