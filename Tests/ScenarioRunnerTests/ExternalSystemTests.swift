import AishaSystem
import Foundation
import HummingbirdTesting
import Logging
import ScenarioRunner
import SupportKit
import Testing

/// `--system external`: the runner drives an AishaSystem it did not start, as staging does. Here that system is
/// `aisha serve`'s application on real time in this process, configured only through its environment-style settings.
@Suite("Scenarios against an externally started AishaSystem")
struct ExternalSystemTests {
    @Test("the suite runs against it: what needs in-process hooks is skipped with a reason, the rest passes")
    func externalSuite() async throws {
        let (telegramPort, falPort) = (LoopbackPort.free(), LoopbackPort.free())
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("external-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = AishaConfiguration(telegramBotToken: "4242:scenario-token", falKey: "staging-key", archiveURLSecret: "staging")
        configuration.port = 0
        configuration.telegramMode = .webhook
        configuration.telegramWebhookSecret = "staging-secret"
        configuration.telegramAPIBaseURL = "http://127.0.0.1:\(telegramPort)"
        configuration.falQueueBaseURL = "http://127.0.0.1:\(falPort)"
        configuration.falJWKSURL = "http://127.0.0.1:\(falPort)/.well-known/jwks.json"
        configuration.databaseURL = "sqlite://\(folder.appendingPathComponent("aisha.sqlite").path)"
        configuration.storageURL = "file://\(folder.appendingPathComponent("storage").path)"
        var logger = Logger(label: "external")
        logger.logLevel = .critical
        let services = try await AishaServices.make(configuration, logger: logger)
        let databaseURL = configuration.databaseURL
        try await buildApplication(services).test(.live) { client in
            var options = RunOptions()
            options.external = ExternalSystem(
                url: "http://127.0.0.1:\(client.port!)", telegramPort: telegramPort, falPort: falPort, telegramSecret: "staging-secret",
                databaseURL: databaseURL)
            let results = try await ScenarioRunner.run(paths: [scenarioFolder], options: options)
            let failed = results.filter { if case .failed = $0.outcome { true } else { false } }
            let skipped = results.compactMap { if case .skipped(let reason) = $0.outcome { reason } else { nil } }
            #expect(failed.isEmpty, "\(failed.map { "\($0.name): \($0.outcome)" })")
            #expect(results.filter(\.passed).count >= 10)
            #expect(skipped.contains { $0.contains("restarts AishaSystem") })
            #expect(skipped.contains { $0.contains("configuration") })
        }
    }

    @Test("without the system's database URL, scenarios that read stored state are skipped, not failed")
    func withoutDatabase() throws {
        let scenario = try ScenarioParser.parse(
            """
            name: reads state
            user: { id: 1, first_name: A }
            steps:
              - send: /start
              - expect_credits: { balance: 150 }
            """, file: "inline.yaml")[0]
        let external = ExternalSystem(url: "http://127.0.0.1:1", telegramPort: 1, falPort: 2)
        #expect(external.skipReason(scenario)?.contains("--database-url") == true)
        let withDatabase = ExternalSystem(url: "http://127.0.0.1:1", telegramPort: 1, falPort: 2, databaseURL: "sqlite://x")
        #expect(withDatabase.skipReason(scenario) == nil)
    }
}
