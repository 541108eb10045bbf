import Foundation
import MockFAL
import SupportKit

/// How MockFAL's contract of one app differs from FAL's published schema.
public struct AppDrift: Sendable, Equatable {
    public var appId: String
    /// Fields FAL has and MockFAL's contract lacks (MockFAL would wrongly reject them).
    public var added: [String] = []
    /// Fields MockFAL's contract has and FAL no longer lists (AishaSystem may send something FAL rejects).
    public var removed: [String] = []
    /// Fields on both sides that differ, with what changed.
    public var changed: [String: [String]] = [:]
    /// Why the app could not be compared (no snapshot, unreadable document), or nil.
    public var problem: String?

    public var isClean: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty && problem == nil }
}

/// `aisha-scenario contracts check` / `fetch`: MockFAL's contract files against FAL's OpenAPI schemas, as
/// snapshotted under `contracts/upstream/` (one `APP.openapi.json` per app, `/` written as `__`).
public enum ContractDrift {
    public static let fetchURL = "https://fal.ai/api/openapi/queue/openapi.json?endpoint_id="

    public static func snapshotFile(for appId: String, in folder: URL) -> URL {
        folder.appendingPathComponent(appId.replacingOccurrences(of: "/", with: "__") + ".openapi.json")
    }

    /// Compares every contract with its snapshot.
    public static func check(contracts: ContractCatalog, upstream folder: URL) -> [AppDrift] {
        contracts.contracts.keys.sorted().map { appId in
            let contract = contracts.contracts[appId]!
            let file = snapshotFile(for: appId, in: folder)
            guard let data = try? Data(contentsOf: file) else {
                return AppDrift(appId: appId, problem: "no upstream snapshot \(file.lastPathComponent) (run: aisha-scenario contracts fetch)")
            }
            do {
                return compare(contract, try UpstreamSchema(appId: appId, openAPI: data))
            } catch {
                return AppDrift(appId: appId, problem: "\(error)")
            }
        }
    }

    public static func compare(_ contract: AppContract, _ upstream: UpstreamSchema) -> AppDrift {
        let mine = Dictionary(uniqueKeysWithValues: contract.fields.map { ($0.name, FieldShape($0)) })
        var drift = AppDrift(appId: contract.appId)
        drift.added = upstream.fields.keys.filter { mine[$0] == nil }.sorted()
        drift.removed = mine.keys.filter { upstream.fields[$0] == nil }.sorted()
        for (name, shape) in mine {
            guard let theirs = upstream.fields[name] else { continue }
            let changes = shape.changes(to: theirs)
            if !changes.isEmpty { drift.changed[name] = changes }
        }
        return drift
    }

    /// The report: one block per app, "ok" for apps without drift.
    public static func report(_ drifts: [AppDrift]) -> String {
        var lines: [String] = []
        for drift in drifts {
            if drift.isClean {
                lines.append("ok      \(drift.appId)")
                continue
            }
            lines.append("DRIFT   \(drift.appId)")
            if let problem = drift.problem { lines.append("  ! \(problem)") }
            for name in drift.added { lines.append("  + \(name) (published by FAL, missing from the contract)") }
            for name in drift.removed { lines.append("  - \(name) (in the contract, no longer published)") }
            for name in drift.changed.keys.sorted() { lines.append("  ~ \(name): " + drift.changed[name]!.joined(separator: "; ")) }
        }
        let drifted = drifts.filter { !$0.isClean }.count
        lines.append(drifted == 0 ? "\(drifts.count) apps, no drift" : "\(drifted) of \(drifts.count) apps drifted")
        return lines.joined(separator: "\n")
    }

    /// Downloads each app's OpenAPI document into `folder` (`base` + app id; FAL's address by default).
    public static func fetch(appIds: [String], into folder: URL, base: String = fetchURL, transport: any HTTPTransport = AsyncHTTPClientTransport()) async throws -> [String] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var written: [String] = []
        for appId in appIds {
            let response = try await transport.send(OutgoingRequest(url: base + appId, timeout: .seconds(30)))
            guard response.status == 200 else { throw UpstreamSchemaError("\(base + appId) answered HTTP \(response.status)") }
            _ = try UpstreamSchema(appId: appId, openAPI: response.body)  // refuse to store what check could not read
            let file = snapshotFile(for: appId, in: folder)
            try response.body.write(to: file)
            written.append(file.path)
        }
        return written
    }
}
