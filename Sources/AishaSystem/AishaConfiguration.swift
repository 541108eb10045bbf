import Crypto
import Foundation
import Logging
import SupportKit

/// How Telegram updates reach the bot.
public enum TelegramMode: String, Sendable, CaseIterable {
    case polling, webhook, off
}

/// Which parts one `aisha serve` process runs, so bot intake and the FAL-facing API can scale separately.
public enum ServerRole: String, Sendable, CaseIterable {
    /// Telegram intake and the conversation (polling or `/telegram/webhook`).
    case bot
    /// The FAL-facing API (webhook, archives), the poller and the notification outbox.
    case api
    /// Everything in one process (the default).
    case all

    var runsBot: Bool { self != .api }
    var runsAPI: Bool { self != .bot }
}

/// A missing or malformed setting: one clear line naming the variable.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// AishaSystem's settings (DESIGN §2): environment variables, then an optional `.env`, then defaults that run
/// everything locally.
public struct AishaConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8000
    public var telegramBotToken: String
    public var telegramAPIBaseURL = "https://api.telegram.org"
    public var telegramMode = TelegramMode.polling
    public var telegramWebhookSecret: String?
    /// Where Telegram pushes updates in webhook mode; nil = `{PUBLIC_BASE_URL}/telegram/webhook`.
    public var telegramWebhookURL: String?
    public var falKey: String
    public var falQueueBaseURL = "https://queue.fal.run"
    public var falJWKSURL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
    /// Off only by explicit dev setting; then the legacy short webhook form is accepted too.
    public var falWebhookVerify = true
    /// What FAL uses to reach the webhook and the archive; nil = this server's own address.
    public var publicBaseURL: String?
    public var databaseURL = "sqlite://aisha.sqlite"
    public var storageURL = "file://./storage"
    public var trainingPreset = TrainingPreset.balanced
    public var styleTrainer = StyleTrainer.fluxProTrainer
    public var avatarCreationCost = 150
    /// Credits per generated image (`GENERATION_COST`).
    public var generationCost = 10
    /// Credits a new user starts with (one avatar at the default cost).
    public var welcomeCredits = 150
    public var archiveURLSecret: String
    public var pollInterval: Duration = .seconds(60)
    public var staleAfter: TimeInterval = 600
    /// How long a training whose submit may have reached FAL (no request id stored) waits for its webhook.
    public var submissionTimeout: TimeInterval = 3 * 3600
    public var logLevel = Logger.Level.info
    /// `LOG_FORMAT`: lines for people, or one JSON object per line for journald/Loki.
    public var logFormat = LogFormat.text
    /// Bugs put back for tests that show the harness finds them; never set from the environment.
    public var injectedDefects: Set<InjectedDefect> = []
    public var role = ServerRole.all
    /// Credentials for `STORAGE_URL=s3://…` (the standard AWS variables).
    public var awsAccessKeyId: String?
    public var awsSecretAccessKey: String?

    public init(telegramBotToken: String, falKey: String, archiveURLSecret: String = UUID().uuidString) {
        self.telegramBotToken = telegramBotToken
        self.falKey = falKey
        self.archiveURLSecret = archiveURLSecret
    }

    /// Reads `environment` (wins) and the text of a `.env` file (`KEY=value` lines, `#` comments).
    public static func load(environment: [String: String], dotEnv: String? = nil) throws -> AishaConfiguration {
        var values = parseDotEnv(dotEnv ?? "")
        values.merge(environment) { _, env in env }
        func required(_ key: String) throws -> String {
            guard let value = values[key], !value.isEmpty else {
                throw ConfigurationError(description: "missing \(key): set it in the environment or in .env")
            }
            return value
        }
        func parsed<T>(_ key: String, _ parse: (String) -> T?) throws -> T? {
            guard let raw = values[key], !raw.isEmpty else { return nil }
            guard let value = parse(raw) else { throw ConfigurationError(description: "invalid \(key)=\(raw)") }
            return value
        }
        let token = try required("TELEGRAM_BOT_TOKEN")
        let falKey = try required("FAL_KEY")
        var configuration = AishaConfiguration(
            telegramBotToken: token, falKey: falKey,
            archiveURLSecret: values["ARCHIVE_URL_SECRET"] ?? Data(SHA256.hash(data: Data("aisha-archive|\(falKey)|\(token)".utf8))).hexString)
        configuration.host = values["HOST"] ?? configuration.host
        configuration.port = try parsed("PORT") { Int($0).flatMap { (0...65535).contains($0) ? $0 : nil } } ?? configuration.port
        configuration.telegramAPIBaseURL = values["TELEGRAM_API_BASE_URL"] ?? configuration.telegramAPIBaseURL
        configuration.telegramMode = try parsed("TELEGRAM_MODE", TelegramMode.init(rawValue:)) ?? configuration.telegramMode
        configuration.telegramWebhookSecret = values["TELEGRAM_WEBHOOK_SECRET"]
        configuration.telegramWebhookURL = values["TELEGRAM_WEBHOOK_URL"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.falQueueBaseURL = values["FAL_QUEUE_BASE_URL"] ?? configuration.falQueueBaseURL
        configuration.falJWKSURL = values["FAL_JWKS_URL"] ?? configuration.falJWKSURL
        configuration.falWebhookVerify = try parsed("FAL_WEBHOOK_VERIFY", parseBool) ?? true
        configuration.publicBaseURL = values["PUBLIC_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.databaseURL = values["DATABASE_URL"] ?? configuration.databaseURL
        configuration.storageURL = values["STORAGE_URL"] ?? configuration.storageURL
        configuration.trainingPreset = try parsed("TRAINING_PRESET", TrainingPreset.init(rawValue:)) ?? .balanced
        configuration.styleTrainer = try parsed("STYLE_TRAINER") { StyleTrainer(rawValue: $0.replacingOccurrences(of: "fal-ai/", with: "")) } ?? .fluxProTrainer
        configuration.avatarCreationCost = try parsed("AVATAR_CREATION_COST") { Int($0).flatMap { $0 >= 0 ? $0 : nil } } ?? 150
        configuration.generationCost = try parsed("GENERATION_COST") { Int($0).flatMap { $0 >= 0 ? $0 : nil } } ?? 10
        configuration.welcomeCredits = try parsed("WELCOME_CREDITS") { Int($0).flatMap { $0 >= 0 ? $0 : nil } } ?? configuration.avatarCreationCost
        configuration.pollInterval = try parsed("POLL_INTERVAL", Duration.init(parsing:)) ?? configuration.pollInterval
        configuration.staleAfter = try parsed("STALE_AFTER", Duration.init(parsing:))?.timeInterval ?? configuration.staleAfter
        configuration.submissionTimeout =
            try parsed("SUBMISSION_TIMEOUT", Duration.init(parsing:))?.timeInterval ?? configuration.submissionTimeout
        configuration.awsAccessKeyId = values["AWS_ACCESS_KEY_ID"]
        configuration.awsSecretAccessKey = values["AWS_SECRET_ACCESS_KEY"]
        configuration.logLevel = try parsed("LOG_LEVEL") { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        configuration.logFormat = try parsed("LOG_FORMAT") { LogFormat(rawValue: $0.lowercased()) } ?? .text
        if configuration.telegramMode == .webhook, configuration.telegramWebhookSecret == nil {
            throw ConfigurationError(description: "missing TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_MODE=webhook")
        }
        return configuration
    }

    static func parseDotEnv(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "export ", with: "")
            var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            values[key] = value
        }
        return values
    }

    static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes", "on": true
        case "0", "false", "no", "off": false
        default: nil
        }
    }
}
