import AishaSystem
import Foundation
import Logging
import MockFAL
import SupportKit
import Synchronization

/// Everything one scenario runs against, in this process: mock Telegram, MockFAL and AishaSystem on ephemeral
/// loopback ports, one virtual clock, its own database and storage folder.
final class ScenarioEnvironment: Sendable {
    let scenario: Scenario
    let time: TimeSource
    let world: TelegramWorld
    let fal: FALQueue
    let logs = LogBuffer()
    let folder: URL
    let telegramServer: RunningServer
    /// MockFAL's server; nil when the scenario runs against the real FAL.
    let falServer: RunningServer?
    let realFAL: RealFALTarget?
    let backends: ScenarioBackends
    /// The user-started system the scenario drives, or nil for the in-process one.
    let external: ExternalSystem?
    /// Added to the scenario's user ids (non-zero only against an external system).
    let userOffset: Int64
    /// The external system's store, when its database URL was given.
    let externalStore: Mutex<(any AvatarStore)?> = Mutex(nil)
    /// Names this scenario's schema and bucket on shared backends.
    let id = UUID().uuidString.prefix(8).lowercased()
    private let aisha: Mutex<(services: AishaServices, server: RunningServer)?> = Mutex(nil)
    static let token = "4242:scenario-token"
    static let webhookSecret = "scenario-secret"

    private init(
        scenario: Scenario, time: TimeSource, world: TelegramWorld, fal: FALQueue, folder: URL, telegramServer: RunningServer,
        falServer: RunningServer?, realFAL: RealFALTarget?, backends: ScenarioBackends, external: ExternalSystem?, userOffset: Int64
    ) {
        self.scenario = scenario
        self.time = time
        self.world = world
        self.fal = fal
        self.folder = folder
        self.telegramServer = telegramServer
        self.falServer = falServer
        self.realFAL = realFAL
        self.backends = backends
        self.external = external
        self.userOffset = userOffset
    }

    /// Starts the environment: MockFAL on virtual time, or (with `realFAL`) FAL's real queue on real time; with
    /// `external`, mock Telegram (and MockFAL unless `mockFAL` is false) on its fixed ports and no AishaSystem of
    /// our own.
    static func start(
        _ scenario: Scenario, seed: UInt64, realFAL: RealFALTarget? = nil, backends: ScenarioBackends = .embedded, external: ExternalSystem? = nil,
        mockFAL: Bool = true
    ) async throws -> ScenarioEnvironment {
        // MockFAL's jobs run on virtual time, also against an external system (from today, so its webhooks look current).
        let start = external == nil ? Date(timeIntervalSince1970: 1_790_000_000) : Date()
        let time = realFAL == nil ? TimeSource.virtual(VirtualClock(), start: start) : .live
        var scenario = scenario
        // A system that outlives the run keeps its users: each scenario gets user ids of its own there.
        let userOffset: Int64 = external == nil ? 0 : Int64.random(in: 1...1_000_000) * 1_000_000
        for index in scenario.users.indices { scenario.users[index].id += userOffset }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aisha-scenario-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let quiet = Logger.quiet("scenario")
        let world = TelegramWorld(token: token, time: time)
        let telegramServer = try await RunningServer.start(logger: quiet) { running in
            MockTelegramServer.buildApplication(world: world, port: external?.telegramPort ?? 0, logger: quiet, onServerRunning: running)
        }
        var falConfiguration = MockFALConfiguration(contracts: try .bundled(), time: time)
        falConfiguration.port = external?.falPort ?? 0
        falConfiguration.mode = scenario.fal.mode
        falConfiguration.stepDuration = scenario.fal.step
        if external != nil { falConfiguration.signatureTime = .live }
        falConfiguration.simulatedSteps = scenario.fal.stepsToWebhook
        falConfiguration.refuseDeprecatedApps = scenario.fal.refuseDeprecated
        falConfiguration.seed = seed
        let fal = FALQueue(configuration: falConfiguration, logger: quiet)
        for rule in scenario.faults { await fal.addFault(rule) }
        let falServer =
            !mockFAL
            ? nil
            : try await RunningServer.start(logger: quiet) { running in
                MockFAL.buildApplication(falConfiguration, queue: fal, logger: quiet, onServerRunning: running)
            }
        let environment = ScenarioEnvironment(
            scenario: scenario, time: time, world: world, fal: fal, folder: folder, telegramServer: telegramServer,
            falServer: falServer, realFAL: realFAL, backends: backends, external: external, userOffset: userOffset)
        if let external {
            // The system registered its webhook with an earlier mock; this one delivers to the same place.
            await world.setWebhook(url: external.url + "/telegram/webhook", secret: external.telegramSecret)
            if let url = external.databaseURL {
                let store = try await AishaServices.openStore(url, logger: quiet)
                environment.externalStore.withLock { $0 = store }
            }
        } else {
            try await environment.startAisha(port: realFAL?.port ?? 0)
        }
        return environment
    }

    var services: AishaServices {
        get throws {
            guard let running = aisha.withLock({ $0 }) else { throw StepFailure(message: "AishaSystem is not running") }
            return running.services
        }
    }

    /// Where AishaSystem listens: ours, or the external one.
    var aishaBaseURL: String? { external?.url ?? aisha.withLock { $0?.server.port }.map { "http://127.0.0.1:\($0)" } }

    /// The store expectations read: the in-process system's, or the external system's database.
    var store: any AvatarStore {
        get throws {
            guard external != nil else { return try services.store }
            guard let store = externalStore.withLock({ $0 }) else {
                throw StepFailure(message: "reading stored state of an external system needs its --database-url")
            }
            return store
        }
    }

    /// How long an expectation waits: as written in-process; at least 20 s against an external system, which
    /// answers over a real network on its own schedule.
    func patience(_ timeout: Duration) -> Duration {
        external == nil ? timeout : max(timeout, .seconds(20))
    }

    /// Sends what the outbox holds now (in-process); an external system sends on its own.
    func drainNotifications() async throws {
        if external == nil { _ = try await services.notifier.drain() }
    }

    /// AishaSystem as `aisha serve` would run it: on the embedded defaults (SQLite file + local files) or the
    /// shared backends, with webhook intake.
    func startAisha(port: Int) async throws {
        var configuration = AishaConfiguration(
            telegramBotToken: Self.token, falKey: realFAL?.key ?? "scenario-fal-key", archiveURLSecret: "scenario-archive-secret")
        configuration.port = port
        configuration.telegramMode = .webhook
        configuration.telegramWebhookSecret = Self.webhookSecret
        configuration.telegramAPIBaseURL = "http://127.0.0.1:\(telegramServer.port)"
        if let falServer {
            configuration.falQueueBaseURL = "http://127.0.0.1:\(falServer.port)"
            configuration.falJWKSURL = "http://127.0.0.1:\(falServer.port)/.well-known/jwks.json"
        } else if let realFAL {
            configuration.falQueueBaseURL = realFAL.queueBaseURL
            configuration.publicBaseURL = realFAL.publicBaseURL
            configuration.telegramWebhookURL = "http://127.0.0.1:\(realFAL.port)/telegram/webhook"
            configuration.host = "0.0.0.0"
        }
        configuration.falWebhookVerify = scenario.config.webhookVerify
        configuration.databaseURL = backends.databaseURL(folder: folder, id: id)
        configuration.storageURL = backends.storageURL(folder: folder, id: id)
        configuration.awsAccessKeyId = backends.s3AccessKey
        configuration.awsSecretAccessKey = backends.s3SecretKey
        configuration.trainingPreset = scenario.config.preset
        configuration.styleTrainer = scenario.config.styleTrainer
        configuration.avatarCreationCost = scenario.config.cost
        configuration.welcomeCredits = scenario.config.welcomeCredits ?? scenario.config.cost
        configuration.pollInterval = scenario.config.pollInterval
        configuration.staleAfter = scenario.config.staleAfter.timeInterval
        configuration.logLevel = .info
        let services = try await AishaServices.make(configuration, time: time, logger: logs.logger(label: "aisha"))
        try await backends.prepare(services)
        let server = try await RunningServer.start(logger: logs.logger(label: "aisha-lifecycle")) { running in
            AishaSystem.buildApplication(services, onServerRunning: running)
        }
        aisha.withLock { $0 = (services, server) }
        _ = await eventually { await world.webhook != nil }
    }

    /// Stops AishaSystem and starts it again on the same port, database and storage.
    func restartAisha() async throws {
        guard let running = aisha.withLock({ $0 }) else { return }
        await running.server.stop()
        await running.services.store.close()
        aisha.withLock { $0 = nil }
        try await startAisha(port: running.server.port)
    }

    func stop() async {
        if let store = externalStore.withLock({ $0 }) { await store.close() }
        if let running = aisha.withLock({ $0 }) {
            await running.server.stop()
            await backends.cleanUp(running.services)
        }
        await falServer?.stop()
        await telegramServer.stop()
        await fal.reset()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Where `--fal real` sends trainings: FAL's queue, reached with `FAL_KEY`; FAL reaches AishaSystem (webhook and
/// archive) at `PUBLIC_BASE_URL`, which must lead to `PORT` on this machine.
public struct RealFALTarget: Sendable {
    public var key: String
    public var queueBaseURL: String
    public var publicBaseURL: String
    public var port: Int

    /// From the environment; nil with the reason when something is missing.
    public static func fromEnvironment(_ env: [String: String]) -> Result<RealFALTarget, StepFailure> {
        guard let key = env["FAL_KEY"], !key.isEmpty else { return .failure(StepFailure(message: "--fal real needs FAL_KEY")) }
        guard let url = env["PUBLIC_BASE_URL"], !url.isEmpty else {
            return .failure(StepFailure(message: "--fal real needs PUBLIC_BASE_URL (an address FAL can reach, forwarded to PORT)"))
        }
        return .success(
            RealFALTarget(
                key: key, queueBaseURL: env["FAL_QUEUE_BASE_URL"] ?? "https://queue.fal.run", publicBaseURL: url,
                port: env["PORT"].flatMap { Int($0) } ?? 8000))
    }
}
