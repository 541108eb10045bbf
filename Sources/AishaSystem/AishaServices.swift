import Foundation
import Logging
import SupportKit

/// Everything a running AishaSystem is made of, wired from one configuration. Tests and the scenario runner keep
/// it to look inside (store, notifier, poller) while the HTTP application serves it.
public struct AishaServices: Sendable {
    public let configuration: AishaConfiguration
    public let store: any AvatarStore
    public let objects: any ObjectStore
    public let telegram: TelegramClient
    public let fal: FALClient
    public let training: TrainingService
    public let generation: GenerationService
    public let results: ResultHandler
    public let notifier: Notifier
    public let poller: TrainingPoller
    public let conversation: ConversationHandler
    public let time: TimeSource
    public let logger: Logger
    /// This instance's metrics (`GET /metrics`).
    public let metrics: AishaMetrics
    /// The URL FAL reaches this server at.
    public var endpoint: PublicEndpoint { signer.endpoint }
    let verifier: WebhookVerifier
    let signer: ArchiveURLSigner

    /// Opens the store and object store named by the configuration and wires the services.
    public static func make(
        _ configuration: AishaConfiguration, time: TimeSource = .live, transport: any HTTPTransport = AsyncHTTPClientTransport(),
        store: (any AvatarStore)? = nil, objects: (any ObjectStore)? = nil, logger: Logger? = nil,
        checkpoint: @escaping @Sendable (Checkpoint) async throws -> Void = { _ in }
    ) async throws -> AishaServices {
        let logger = logger ?? {
            var logger = Logger(label: "aisha")
            logger.logLevel = configuration.logLevel
            return logger
        }()
        let opened: any AvatarStore
        if let store { opened = store } else { opened = try await openStore(configuration.databaseURL, logger: logger) }
        let store = opened
        let objects = try objects ?? openObjects(configuration, transport: transport, time: time)
        let defects = configuration.injectedDefects
        var telegram = TelegramClient(baseURL: configuration.telegramAPIBaseURL, token: configuration.telegramBotToken, transport: transport, time: time)
        telegram.keepsFloodWaits = !defects.contains(.floodWaitNotKept)
        let metrics = AishaMetrics()
        telegram.metrics = metrics
        var fal = FALClient(baseURL: configuration.falQueueBaseURL, key: configuration.falKey, transport: transport)
        fal.metrics = metrics
        let endpoint = PublicEndpoint(configured: configuration.publicBaseURL, host: configuration.host, port: configuration.port)
        let signer = ArchiveURLSigner(secret: configuration.archiveURLSecret, endpoint: endpoint)
        let notifier = Notifier(store: store, objects: objects, telegram: telegram, time: time, logger: logger, checkpoint: checkpoint)
        let training = TrainingService(
            store: store, objects: objects, fal: fal, signer: signer, notifier: notifier,
            settings: TrainingSettings(cost: configuration.avatarCreationCost, styleTrainer: configuration.styleTrainer, endpoint: endpoint),
            time: time, logger: logger, metrics: metrics, defects: defects, checkpoint: checkpoint)
        let results = ResultHandler(store: store, notifier: notifier, time: time, logger: logger, metrics: metrics, defects: defects)
        let generation = GenerationService(
            store: store, objects: objects, fal: fal, telegram: telegram, notifier: notifier, transport: transport,
            settings: GenerationSettings(unitCost: configuration.generationCost, endpoint: endpoint), time: time, logger: logger)
        let poller = TrainingPoller(
            store: store, fal: fal, results: results, metrics: metrics, generations: generation, time: time, logger: logger, interval: configuration.pollInterval,
            staleAfter: configuration.staleAfter, submissionTimeout: configuration.submissionTimeout)
        let conversation = ConversationHandler(
            store: store, telegram: telegram, photos: PhotoIntake(store: store, objects: objects, telegram: telegram, time: time),
            training: training, generation: generation, fal: fal,
            settings: ConversationSettings(cost: configuration.avatarCreationCost, welcomeCredits: configuration.welcomeCredits, preset: configuration.trainingPreset),
            time: time, logger: logger, defects: defects)
        let verifier = WebhookVerifier(keys: JWKSCache(url: configuration.falJWKSURL, transport: transport, time: time), time: time)
        return AishaServices(
            configuration: configuration, store: store, objects: objects, telegram: telegram, fal: fal, training: training, generation: generation,
            results: results, notifier: notifier, poller: poller, conversation: conversation, time: time, logger: logger, metrics: metrics,
            verifier: verifier, signer: signer)
    }

    /// `sqlite://path`, `sqlite://:memory:` or `postgres://user:password@host:port/database[?schema=NAME]`.
    public static func openStore(_ url: String, logger: Logger = Logger(label: "aisha.store")) async throws -> any AvatarStore {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") { return try await PostgresAvatarStore(url: url, logger: logger) }
        guard url.hasPrefix("sqlite://") else {
            throw ConfigurationError(description: "unsupported DATABASE_URL \(url): use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        let path = String(url.dropFirst("sqlite://".count))
        return path == ":memory:" ? try SQLiteAvatarStore() : try SQLiteAvatarStore(path: path)
    }

    /// `file://PATH` (relative to the working directory), `memory://`, or
    /// `s3://BUCKET?endpoint=http://host:port&region=us-east-1` with `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    static func openObjects(_ configuration: AishaConfiguration, transport: any HTTPTransport, time: TimeSource) throws -> any ObjectStore {
        let url = configuration.storageURL
        if url == "memory://" { return InMemoryObjectStore() }
        if url.hasPrefix("s3://") {
            guard let components = URLComponents(string: url), let bucket = components.host, !bucket.isEmpty else {
                throw ConfigurationError(description: "invalid STORAGE_URL \(url): use s3://BUCKET?endpoint=URL")
            }
            let items = components.queryItems ?? []
            guard let access = configuration.awsAccessKeyId, let secret = configuration.awsSecretAccessKey else {
                throw ConfigurationError(description: "missing AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: required with STORAGE_URL=s3://…")
            }
            return S3ObjectStore(
                endpoint: items.first { $0.name == "endpoint" }?.value ?? "https://s3.amazonaws.com", bucket: bucket,
                region: items.first { $0.name == "region" }?.value ?? "us-east-1", accessKey: access, secretKey: secret,
                transport: transport, time: time)
        }
        guard url.hasPrefix("file://") else {
            throw ConfigurationError(description: "unsupported STORAGE_URL \(url): use file://PATH, memory:// or s3://BUCKET?endpoint=URL")
        }
        let path = String(url.dropFirst("file://".count))
        let root = path.hasPrefix("/") ? URL(fileURLWithPath: path) : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        return try FileObjectStore(root: root)
    }
}
