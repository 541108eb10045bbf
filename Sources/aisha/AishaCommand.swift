import AishaSystem
import ArgumentParser
import Foundation
import Hummingbird
import Logging

/// `aisha`: the avatar bot + API.
@main
struct AishaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aisha", abstract: "Aisha: Telegram bot + HTTP API that trains personal avatars on FAL.",
        subcommands: [Serve.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the bot and the API (settings from the environment and .env; see README).")

    @Option(help: "Path of the .env file read after the environment.") var envFile = ".env"
    @Option(help: "bot (Telegram intake), api (FAL webhook, archives, poller, notifications) or all.") var role = "all"

    func run() async throws {
        guard let serverRole = ServerRole(rawValue: role) else { throw ValidationError("--role must be bot, api or all") }
        let dotEnv = try? String(contentsOfFile: envFile, encoding: .utf8)
        var configuration: AishaConfiguration
        do {
            configuration = try AishaConfiguration.load(environment: ProcessInfo.processInfo.environment, dotEnv: dotEnv)
            configuration.role = serverRole
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("aisha: \(error.description)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        let (logLevel, logFormat) = (configuration.logLevel, configuration.logFormat)
        LoggingSystem.bootstrap { label in
            switch logFormat {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = logLevel
                return handler
            case .json:
                return JSONLogHandler(label: label, level: logLevel)
            }
        }
        let app = try await buildApplication(configuration)
        try await app.runService()
    }
}
