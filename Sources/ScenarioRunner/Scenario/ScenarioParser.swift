import AishaSystem
import Foundation
import MockFAL
import SupportKit
import Yams

/// Reads scenario files: one scenario per file, or a list of them.
public enum ScenarioParser {
    static let topKeys = ["name", "reproduces", "description", "needs", "user", "users", "config", "fal", "faults", "steps", "staging", "allow", "settles", "crash_at"]

    /// Every `*.yaml`/`*.yml` under the given files or folders, sorted by path.
    public static func files(in paths: [String]) throws -> [String] {
        var found: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ScenarioFileError(file: path, line: 0, message: "no such file or folder")
            }
            if isDirectory.boolValue {
                let enumerator = FileManager.default.enumerator(atPath: path)
                while let item = enumerator?.nextObject() as? String {
                    if item.hasSuffix(".yaml") || item.hasSuffix(".yml") { found.append((path as NSString).appendingPathComponent(item)) }
                }
            } else {
                found.append(path)
            }
        }
        return found.sorted()
    }

    public static func load(file: String) throws -> [Scenario] {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ScenarioFileError(file: file, line: 0, message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text, file: file)
    }

    public static func parse(_ text: String, file: String) throws -> [Scenario] {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ScenarioFileError(file: file, line: Self.line(of: error), message: "not valid YAML: \(error)")
        }
        guard let node else { throw ScenarioFileError(file: file, line: 1, message: "the file is empty") }
        let reader = YAMLReader(file: file)
        if let list = node.sequence { return try list.map { try scenario($0, reader) } }
        return [try scenario(node, reader)]
    }

    static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: 1
        }
    }

    static func scenario(_ node: Node, _ r: YAMLReader) throws -> Scenario {
        let top = try r.mapping(node, "a scenario", allowed: topKeys, required: ["name", "steps"])
        var users: [ScenarioUser] = []
        if let user = top["user"] { users.append(try self.user(user, r)) }
        if let list = top["users"] {
            guard let sequence = list.sequence else { throw r.fail(list, "users must be a list") }
            users += try sequence.map { try self.user($0, r) }
        }
        if users.isEmpty { users = [ScenarioUser(id: 1001, firstName: "Aisha")] }
        guard let stepNodes = top["steps"]?.sequence, !stepNodes.isEmpty else { throw r.fail(top["steps"], "steps must be a non-empty list") }
        var faults: [FaultRule] = []
        if let list = top["faults"] {
            guard let sequence = list.sequence else { throw r.fail(list, "faults must be a list of fault rules") }
            faults = try sequence.map { try StepParser.faultRule($0, r) }
        }
        var needs: Set<ScenarioNeed> = []
        if let list = top["needs"] {
            guard let sequence = list.sequence else { throw r.fail(list, "needs must be a list") }
            needs = Set(try sequence.map { try r.choice($0, "needs", ScenarioNeed.self) })
        }
        var scenario = Scenario(
            name: try r.string(top["name"]!, "name"), file: r.file, line: node.mark?.line ?? 1,
            reproduces: try top["reproduces"].map { try r.string($0, "reproduces") },
            description: try top["description"].map { try r.string($0, "description") }, users: users,
            config: try top["config"].map { try config($0, r) } ?? ScenarioConfig(),
            fal: try top["fal"].map { try fal($0, r) } ?? FALSettings(), faults: faults,
            steps: try stepNodes.map { try StepParser.step($0, r) })
        scenario.needs = needs
        scenario.staging = try top["staging"].map { try r.bool($0, "staging") } ?? false
        scenario.settles = try top["settles"].map { try r.bool($0, "settles") } ?? false
        scenario.crashAt = try top["crash_at"].map { try r.choice($0, "crash_at", CrashPoint.self) }
        if let list = top["allow"] {
            guard let sequence = list.sequence else { throw r.fail(list, "allow must be a list of invariant names") }
            scenario.allowed = Set(try sequence.map { try r.choice($0, "invariant", Invariant.self) })
        }
        return scenario
    }

    static func user(_ node: Node, _ r: YAMLReader) throws -> ScenarioUser {
        let map = try r.mapping(node, "user", allowed: ["id", "first_name", "language"], required: ["id"])
        return ScenarioUser(
            id: Int64(try r.int(map["id"]!, "user id", range: 1...Int(Int32.max))),
            firstName: try map["first_name"].map { try r.string($0, "first_name") } ?? "Aisha",
            language: try map["language"].map { try r.string($0, "language") } ?? "ru")
    }

    static func config(_ node: Node, _ r: YAMLReader) throws -> ScenarioConfig {
        let map = try r.mapping(
            node, "config", allowed: ["preset", "style_trainer", "cost", "welcome_credits", "webhook_verify", "poll_interval", "stale_after"])
        var config = ScenarioConfig()
        if let value = map["preset"] { config.preset = try r.choice(value, "preset", TrainingPreset.self) }
        if let value = map["style_trainer"] { config.styleTrainer = try r.choice(value, "style_trainer", StyleTrainer.self) }
        if let value = map["cost"] { config.cost = try r.int(value, "cost", range: 0...1_000_000) }
        if let value = map["welcome_credits"] { config.welcomeCredits = try r.int(value, "welcome_credits", range: 0...1_000_000) }
        if let value = map["webhook_verify"] { config.webhookVerify = try r.bool(value, "webhook_verify") }
        if let value = map["poll_interval"] { config.pollInterval = try r.duration(value, "poll_interval") }
        if let value = map["stale_after"] { config.staleAfter = try r.duration(value, "stale_after") }
        return config
    }

    static func fal(_ node: Node, _ r: YAMLReader) throws -> FALSettings {
        let map = try r.mapping(node, "fal", allowed: ["mode", "step", "steps_to_webhook", "refuse_deprecated"])
        var fal = FALSettings()
        if let value = map["mode"] { fal.mode = try r.choice(value, "fal mode", ValidationMode.self) }
        if let value = map["step"] { fal.step = try r.duration(value, "fal step") }
        if let value = map["steps_to_webhook"] { fal.stepsToWebhook = try r.int(value, "steps_to_webhook", range: 1...100_000) }
        if let value = map["refuse_deprecated"] { fal.refuseDeprecated = try r.bool(value, "refuse_deprecated") }
        return fal
    }
}
