import Foundation
import ScenarioRunner
import Testing

@Suite("Scenario files: clear errors with file, line and accepted keys")
struct ScenarioParserTests {
    func error(_ yaml: String) -> String {
        do {
            _ = try ScenarioParser.parse(yaml, file: "bug.yaml")
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("unknown top-level key names the line and the accepted keys")
    func unknownTopKey() {
        let message = error("name: x\nfoo: 1\nsteps:\n  - send: hi\n")
        #expect(message.hasPrefix("bug.yaml:2: unknown key 'foo' in a scenario; accepted keys: name, reproduces"))
    }

    @Test("unknown step, bad value, missing field")
    func steps() {
        #expect(error("name: x\nsteps:\n  - sned: hi\n").hasPrefix("bug.yaml:3: unknown step 'sned'; actions: send, tap"))
        #expect(error("name: x\nsteps:\n  - advance: soon\n").contains("bug.yaml:3: advance must be a duration like 500ms"))
        #expect(error("name: x\nsteps:\n  - photos: { count: 0 }\n").contains("count must be within 1…50"))
        #expect(error("name: x\nsteps:\n  - photos: { kind: blurry }\n").contains("photo kind must be one of: normal, broken, empty, duplicate, huge, bomb"))
        #expect(error("steps:\n  - send: hi\n").contains("a scenario is missing 'name'"))
        #expect(error("name: x\nsteps:\n  - expect_fal_submit: { app: a, inputs: {} }\n").contains("unknown key 'inputs' in expect_fal_submit; accepted keys: app, input"))
        #expect(error("name: x\nfal: { mode: loose }\nsteps:\n  - send: hi\n").contains("fal mode must be one of: strict, lenient"))
        #expect(error("name: x\nsteps:\n  - fal_fault: { fault: { fail_at: 3 } }\n").contains("unknown key 'fail_at' in fault; accepted keys: fail_at_step"))
    }

    @Test("a valid file parses into its steps with their lines")
    func valid() throws {
        let yaml = """
            name: ok
            user: { id: 7, first_name: Bo }
            config: { cost: 0, style_trainer: flux-lora-fast-training }
            steps:
              - send: /start
              - photos: { count: 3, size: 800x600, album: true }
              - advance: 15m
              - expect_fal_submit: { app: fal-ai/flux-pro-trainer, input: { iterations: 500 }, absent: [steps] }
            """
        let scenario = try #require(try ScenarioParser.parse(yaml, file: "ok.yaml").first)
        #expect(scenario.mainUser.id == 7)
        #expect(scenario.config.cost == 0)
        #expect(scenario.steps.map(\.line) == [5, 6, 7, 8])
    }
}

/// The rerun command of a failure survives any scenario name in a POSIX shell.
@Suite("Rerun command: shell quoting")
struct RerunCommandTests {
    @Test("the shell reads back exactly the name, whatever quotes, spaces and signs it holds")
    func quoting() throws {
        for name in [#"a double tap on "Готово" isn't $HOME `x`"#, "plain-name", "it's", "", "a\\b; rm -rf /", "emoji 🎭 and 'quotes'"] {
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", "printf %s \(RerunCommand.quote(name))"]
            let output = Pipe()
            shell.standardOutput = output
            try shell.run()
            shell.waitUntilExit()
            let read = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(read == name, "\(RerunCommand.quote(name))")
        }
        #expect(RerunCommand.quote("scenarios/a.yaml") == "scenarios/a.yaml")
    }
}
