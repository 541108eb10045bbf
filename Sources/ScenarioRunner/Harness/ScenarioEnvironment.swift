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
    /// MockFAL's server (simulating FAL, or proxying it); nil when an external system talks to FAL itself.
    let falServer: RunningServer?
    let falSide: FALSide
    let backends: ScenarioBackends
    /// The AishaSystem the scenario drives: ours, in this process, or one the user started.
    let system: SystemSide
    /// Added to the scenario's user ids (non-zero only against an external system).
    let userOffset: Int64
    /// Names this scenario's schema and bucket on shared backends, and its routes on a staging gateway.
    let id: String
    /// Bugs put back into the in-process system (tests that show explore finds them).
    let defects: Set<InjectedDefect>
    private let aisha: Mutex<(services: AishaServices, server: RunningServer)?> = Mutex(nil)
    /// The second instance `second_instance` started, on the same database and storage.
    private let peer: Mutex<(services: AishaServices, server: RunningServer)?> = Mutex(nil)
    /// How many AishaSystem processes have run: a restart starts a new one, `second_instance` another.
    private let started = Mutex(0)
    var processesStarted: Int { started.withLock { $0 } }
    var runsTwoInstances: Bool { peer.withLock { $0 != nil } }
    /// The crash `crash_at` arms (fires once).
    let crash: ArmedCrash
    static let token = "4242:scenario-token"
    static let webhookSecret = "scenario-secret"

    private init(
        scenario: Scenario, time: TimeSource, world: TelegramWorld, fal: FALQueue, folder: URL, telegramServer: RunningServer,
        falServer: RunningServer?, falSide: FALSide, backends: ScenarioBackends, system: SystemSide, userOffset: Int64, id: String,
        defects: Set<InjectedDefect>
    ) {
        self.scenario = scenario
        self.time = time
        self.world = world
        self.fal = fal
        self.folder = folder
        self.telegramServer = telegramServer
        self.falServer = falServer
        self.falSide = falSide
        self.id = id
        self.backends = backends
        self.system = system
        self.userOffset = userOffset
        self.defects = defects
        self.crash = ArmedCrash(scenario.crashAt)
    }

    /// Starts the environment: MockFAL on virtual time, or (with `staging`) the run's FAL behind a MockFAL proxy on
    /// real time; with `external`, mock Telegram (and MockFAL unless `mockFAL` is false) on its fixed ports and no
    /// AishaSystem of our own.
    static func start(
        _ scenario: Scenario, seed: UInt64, staging: StagingRun? = nil, backends: ScenarioBackends = .embedded, external: ExternalSystem? = nil,
        mockFAL: Bool = true, defects: Set<InjectedDefect> = []
    ) async throws -> ScenarioEnvironment {
        let id = UUID().uuidString.prefix(8).lowercased()
        // MockFAL's jobs run on virtual time, also against an external system (from today, so its webhooks look current).
        let start = external == nil ? Date(timeIntervalSince1970: 1_790_000_000) : Date()
        let time = staging == nil ? TimeSource.virtual(VirtualClock(), start: start) : .live
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
        let falSide: FALSide
        var proxy: FALProxy?
        if let staging {
            var upstream = UpstreamConfiguration(
                baseURL: staging.target.queueBaseURL, key: staging.target.key, jwksURL: staging.target.jwksURL,
                publicURL: staging.publicPrefix(id))
            upstream.budget = staging.budget
            upstream.recorder = staging.recorder
            let proxied = FALProxy(queue: fal, upstream: upstream, logger: quiet)
            (proxy, falSide) = (proxied, .proxied(proxied, staging))
        } else {
            falSide = mockFAL ? .simulated : .unobserved
        }
        let falServer =
            !mockFAL && proxy == nil
            ? nil
            : try await RunningServer.start(logger: quiet) { running in
                MockFAL.buildApplication(falConfiguration, queue: fal, proxy: proxy, logger: quiet, onServerRunning: running)
            }
        let system: SystemSide
        if let external {
            // The system registered its webhook with an earlier mock; this one delivers to the same place.
            await world.setWebhook(url: external.url + "/telegram/webhook", secret: external.telegramSecret)
            var store: (any AvatarStore)?
            if let url = external.databaseURL { store = try await AishaServices.openStore(url, logger: quiet) }
            system = .external(external, store: store)
        } else {
            system = .inProcess
        }
        let environment = ScenarioEnvironment(
            scenario: scenario, time: time, world: world, fal: fal, folder: folder, telegramServer: telegramServer,
            falServer: falServer, falSide: falSide, backends: backends, system: system, userOffset: userOffset, id: id, defects: defects)
        if case .inProcess = system {
            // On a staging run the system's port is known before it starts: mock Telegram delivers there directly.
            try await environment.startAisha(port: staging == nil ? 0 : LoopbackPort.free())
        }
        return environment
    }

    /// Where FAL's jobs are seen: MockFAL's own, or those the proxy created at the real FAL.
    var falJobs: any QueueBackend {
        switch falSide {
        case .proxied(let proxy, _): proxy
        case .simulated, .unobserved: fal
        }
    }

    var services: AishaServices {
        get throws {
            guard let running = aisha.withLock({ $0 }) else { throw StepFailure(message: "AishaSystem is not running") }
            return running.services
        }
    }

    /// Where AishaSystem listens: ours, or the external one.
    var aishaBaseURL: String? {
        switch system {
        case .inProcess: aisha.withLock { $0?.server.port }.map { "http://127.0.0.1:\($0)" }
        case .external(let external, _): external.url
        }
    }

    /// The store expectations read: the in-process system's, or the external system's database.
    var store: any AvatarStore {
        get throws {
            switch system {
            case .inProcess: return try services.store
            case .external(_, let store?): return store
            case .external(_, nil): throw StepFailure(message: "reading stored state of an external system needs its --database-url")
            }
        }
    }

    /// How long an expectation waits: as written in-process; at least 20 s against an external system, which
    /// answers over a real network on its own schedule.
    func patience(_ timeout: Duration) -> Duration {
        switch system {
        case .inProcess: timeout
        case .external: max(timeout, .seconds(20))
        }
    }

    /// The clock a webhook the scenario signs as FAL is stamped with: the system's own (an external one checks it
    /// against the wall clock).
    var signingTime: TimeSource {
        switch system {
        case .inProcess: time
        case .external: .live
        }
    }

    /// Sends what the outbox holds now (in-process); an external system sends on its own.
    func drainNotifications() async throws {
        switch system {
        case .inProcess:
            do {
                _ = try await services.notifier.drain()
            } catch is ArmedCrash.Crashed {
                // The system died between a send and its mark (`crash_at: notification_sent`): the runner restarts it.
            }
        case .external: break
        }
    }

    /// AishaSystem as `aisha serve` would run it: on the embedded defaults (SQLite file + local files) or the
    /// shared backends, with webhook intake.
    func startAisha(port: Int) async throws {
        let configuration = aishaConfiguration(port: port)
        let crash = crash
        let services = try await AishaServices.make(
            configuration, time: time, logger: logs.logger(label: "aisha"), checkpoint: { try crash.reached($0) })
        try await backends.prepare(services)
        let server = try await RunningServer.start(logger: logs.logger(label: "aisha-lifecycle")) { running in
            AishaSystem.buildApplication(services, onServerRunning: running)
        }
        aisha.withLock { $0 = (services, server) }
        started.withLock { $0 += 1 }
        if case .proxied(let proxy, let staging) = falSide, let falServer {
            await proxy.route(publicPrefix: staging.publicPrefix(id), to: "http://127.0.0.1:\(server.port)")
            staging.gateway.register(id, .init(aishaPort: server.port, proxyPort: falServer.port, proxy: proxy))
        }
        // The webhook registration's first try is counted work on virtual time (on real time, it is awaited here).
        await time.settle()
        _ = await eventually { await world.webhook != nil }
    }

    /// A second AishaSystem on the same database and storage (API, poller and notifier), as a second process behind
    /// a load balancer would be: from now on Telegram's updates alternate between the two. Idempotent.
    func startSecondInstance() async throws {
        guard peer.withLock({ $0 == nil }), let first = aisha.withLock({ $0?.server.port }) else { return }
        let services = try await AishaServices.make(aishaConfiguration(port: 0), time: time, logger: logs.logger(label: "aisha-2"))
        let server = try await RunningServer.start(logger: logs.logger(label: "aisha-2-lifecycle")) { running in
            AishaSystem.buildApplication(services, onServerRunning: running)
        }
        peer.withLock { $0 = (services, server) }
        started.withLock { $0 += 1 }
        await world.balance(between: [first, server.port].map { "http://127.0.0.1:\($0)/telegram/webhook" })
    }

    private func aishaConfiguration(port: Int) -> AishaConfiguration {
        var configuration = AishaConfiguration(
            telegramBotToken: Self.token, falKey: "scenario-fal-key", archiveURLSecret: "scenario-archive-secret")
        configuration.port = port
        configuration.telegramMode = .webhook
        configuration.telegramWebhookSecret = Self.webhookSecret
        configuration.telegramAPIBaseURL = "http://127.0.0.1:\(telegramServer.port)"
        if let falServer {
            configuration.falQueueBaseURL = "http://127.0.0.1:\(falServer.port)"
            configuration.falJWKSURL = "http://127.0.0.1:\(falServer.port)/.well-known/jwks.json"
        }
        if case .proxied(_, let staging) = falSide {
            // FAL signs the webhooks the proxy relays unchanged; it reaches the archive through the gateway.
            configuration.falJWKSURL = staging.target.jwksURL
            configuration.publicBaseURL = staging.publicPrefix(id)
            configuration.telegramWebhookURL = "http://127.0.0.1:\(port)/telegram/webhook"
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
        configuration.injectedDefects = defects
        return configuration
    }

    /// Stops AishaSystem and starts it again on the same port, database and storage.
    func restartAisha() async throws {
        guard let running = aisha.withLock({ $0 }) else { return }
        await running.server.stop()
        await running.services.store.close()
        aisha.withLock { $0 = nil }
        try await startAisha(port: running.server.port)
    }

    /// Stops everything; on a staging run the jobs still running at FAL are cancelled first (what each cancel
    /// answered is returned for the timeline).
    func stop() async -> [InFlightCancel] {
        var cancels: [InFlightCancel] = []
        if case .proxied(let proxy, let staging) = falSide {
            cancels = await proxy.cancelInFlight()
            staging.gateway.unregister(id)
        }
        if case .external(_, let store?) = system { await store.close() }
        if let second = peer.withLock({ $0 }) {
            await second.server.stop()
            await second.services.store.close()
        }
        if let running = aisha.withLock({ $0 }) {
            await running.server.stop()
            await backends.cleanUp(running.services)
        }
        await falServer?.stop()
        await telegramServer.stop()
        await fal.reset()
        try? FileManager.default.removeItem(at: folder)
        return cancels
    }
}

/// Which AishaSystem a scenario drives.
enum SystemSide: Sendable {
    /// Ours, started in this process for the scenario (restartable, its log and configuration the scenario's).
    case inProcess
    /// One the user started (`--system external`), and its store when its database URL was given.
    case external(ExternalSystem, store: (any AvatarStore)?)
}

/// How a scenario's FAL side runs.
enum FALSide: Sendable {
    /// MockFAL simulates FAL on the scenario's virtual clock.
    case simulated
    /// The run's FAL (real, or a stand-in) behind this scenario's MockFAL proxy, on real time.
    case proxied(FALProxy, StagingRun)
    /// An external system talks to the real FAL itself: the runner sees none of it.
    case unobserved
}
