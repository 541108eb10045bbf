import Foundation
import Logging
import PostgresNIO

/// A PostgreSQL problem worth a clear message (bad URL, unexpected row).
public struct PostgresStoreError: Error, CustomStringConvertible, Equatable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The store for deployments with several processes: PostgreSQL through postgres-nio. Every change that touches
/// more than one row is one transaction holding row locks (`FOR UPDATE`), so N instances may share a database:
/// a training starts once, an outcome is applied once, and the outbox hands each notification to one sender.
public final class PostgresAvatarStore: AvatarStore {
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    /// Connects to `postgres://user:password@host:port/database?schema=NAME&sslmode=disable|prefer|require` and
    /// applies the migrations not applied yet (one instance at a time, under an advisory lock).
    public init(url: String, logger: Logger = Logger(label: "aisha.postgres")) async throws {
        let target = try PostgresURL(url)
        var configuration = PostgresClient.Configuration(
            host: target.host, port: target.port, username: target.user, password: target.password, database: target.database, tls: target.tls)
        if let schema = target.schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        configuration.options.maximumConnections = 10
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        runner = Task { await client.run() }
        do {
            try await migrate(schema: target.schema)
        } catch {
            runner.cancel()
            throw PostgresStoreError("PostgreSQL at \(target.host):\(target.port)/\(target.database ?? target.user): \(String(reflecting: error))")
        }
    }

    deinit { runner.cancel() }

    public func close() async {
        runner.cancel()
        await runner.value
    }

    private func migrate(schema: String?) async throws {
        try await client.withTransaction(logger: logger) { db in
            try await db.run("SELECT pg_advisory_xact_lock(424242)", logger: logger)
            if let schema { try await db.run("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger) }
            try await db.run("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
            let applied = Set(try await db.all("SELECT name FROM schema_migrations", logger: logger) { try $0["name", as: String.self] })
            for migration in PostgresMigrations.all where !applied.contains(migration.name) {
                for statement in migration.sql { try await db.run(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await db.run("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: logger)
            }
        }
    }

    /// Drops a scenario's schema and everything in it (the runner's clean-up on PostgreSQL).
    public func dropSchema(_ schema: String) async throws {
        guard PostgresURL.isIdentifier(schema) else { throw PostgresStoreError("invalid schema name \(schema)") }
        try await client.withConnection { try await $0.run("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE", logger: logger) }
    }

    /// One connection, no transaction: reads, and changes that are a single statement.
    func autocommit<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { try await body($0) }
    }

    /// One transaction; the closure's own error (an `AishaError` refusing the change) comes out unwrapped.
    func write<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { try await body($0) }
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError, error.rollbackError == nil { throw closureError }
            throw error
        }
    }

    // MARK: Users and conversations

    public func ensureUser(id: Int64, firstName: String, language: String, welcomeCredits: Int, now: Date) async throws -> User {
        try await write { db in
            let (user, inserted) = try await db.first(
                """
                INSERT INTO users (id, first_name, language, blocked, balance, created_at)
                VALUES (\(id), \(firstName), \(language), FALSE, 0, \(now.timeIntervalSince1970))
                ON CONFLICT (id) DO UPDATE SET first_name = EXCLUDED.first_name, language = EXCLUDED.language
                RETURNING *, (xmax = 0) AS inserted
                """, logger: logger
            ) { (try User(pg: $0), try $0["inserted", as: Bool.self]) }!
            guard inserted, welcomeCredits > 0 else { return user }
            try await insertLedger(db, LedgerEntry(userId: id, avatarId: nil, attempt: 0, kind: .grant, amount: welcomeCredits, reason: "welcome credits", createdAt: now))
            var granted = user
            granted.balance += welcomeCredits
            return granted
        }
    }

    public func user(id: Int64) async throws -> User? {
        try await autocommit { try await $0.first("SELECT * FROM users WHERE id = \(id)", logger: logger, User.init(pg:)) }
    }

    public func setUserBlocked(id: Int64, blocked: Bool) async throws {
        try await autocommit { try await $0.run("UPDATE users SET blocked = \(blocked) WHERE id = \(id)", logger: logger) }
    }

    public func conversation(userId: Int64) async throws -> ConversationState {
        let json = try await autocommit { try await $0.first("SELECT state FROM conversations WHERE user_id = \(userId)", logger: logger) { try $0["state", as: String.self] } }
        guard let json else { return ConversationState() }
        return (try? JSONDecoder().decode(ConversationState.self, from: Data(json.utf8))) ?? ConversationState()
    }

    public func saveConversation(userId: Int64, _ state: ConversationState, now: Date) async throws {
        let json = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try await autocommit {
            try await $0.run(
                """
                INSERT INTO conversations (user_id, state, updated_at) VALUES (\(userId), \(json), \(now.timeIntervalSince1970))
                ON CONFLICT (user_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
                """, logger: logger)
        }
    }

    public func advanceConversation(userId: Int64, from expected: ConversationState, to next: ConversationState, now: Date) async throws -> Bool {
        let json = String(decoding: try JSONEncoder().encode(next), as: UTF8.self)
        return try await write { db in
            // The row is created first if missing, so the lock below always has a row to hold.
            try await db.run(
                "INSERT INTO conversations (user_id, state, updated_at) VALUES (\(userId), '{}', \(now.timeIntervalSince1970)) ON CONFLICT (user_id) DO NOTHING",
                logger: logger)
            let stored = try await db.first("SELECT state FROM conversations WHERE user_id = \(userId) FOR UPDATE", logger: logger) { try $0["state", as: String.self] }
            let current = stored.flatMap { try? JSONDecoder().decode(ConversationState.self, from: Data($0.utf8)) } ?? ConversationState()
            guard current == expected else { return false }
            try await db.run("UPDATE conversations SET state = \(json), updated_at = \(now.timeIntervalSince1970) WHERE user_id = \(userId)", logger: logger)
            return true
        }
    }

    // MARK: Avatars and photos

    public func createAvatar(_ avatar: Avatar) async throws {
        try await autocommit { db in
            let a = avatar
            try await db.run(
                """
                INSERT INTO avatars (id, owner_id, name, gender, training_type, status, preset, training_attempt, trainer_app,
                  fal_request_id, finetune_id, lora_url, config_url, trigger_word, progress, error_text, created_at, updated_at)
                VALUES (\(a.id.uuidString), \(a.ownerId), \(a.name), \(a.gender.rawValue), \(a.trainingType?.rawValue), \(a.status.rawValue),
                  \(a.preset.rawValue), \(a.trainingAttempt), \(a.trainerApp), \(a.falRequestId), \(a.finetuneId), \(a.loraURL),
                  \(a.configURL), \(a.triggerWord), \(a.progress), \(a.errorText), \(a.createdAt.timeIntervalSince1970),
                  \(a.updatedAt.timeIntervalSince1970))
                """, logger: logger)
        }
    }

    public func avatar(id: UUID) async throws -> Avatar? {
        try await autocommit { try await $0.first("SELECT * FROM avatars WHERE id = \(id.uuidString)", logger: logger, Avatar.init(pg:)) }
    }

    public func avatars(ownerId: Int64) async throws -> [Avatar] {
        try await autocommit { try await $0.all("SELECT * FROM avatars WHERE owner_id = \(ownerId) ORDER BY created_at, id", logger: logger, Avatar.init(pg:)) }
    }

    public func avatar(requestId: String) async throws -> Avatar? {
        try await autocommit { try await $0.first("SELECT * FROM avatars WHERE fal_request_id = \(requestId)", logger: logger, Avatar.init(pg:)) }
    }

    @discardableResult
    public func updateAvatar(id: UUID, now: Date, _ change: @escaping @Sendable (inout Avatar) throws -> Void) async throws -> Avatar {
        try await write { db in
            guard var avatar = try await lockAvatar(db, id: id) else { throw AishaError.avatarNotFound }
            try change(&avatar)
            avatar.updatedAt = now
            try await save(db, avatar)
            return avatar
        }
    }

    public func addPhoto(_ photo: AvatarPhoto, limit: Int, now: Date) async throws -> Int {
        try await write { db in
            // The avatar's row lock serialises concurrent uploads, so the count and the duplicate check hold.
            guard try await lockAvatar(db, id: photo.avatarId) != nil else { throw AishaError.avatarNotFound }
            let avatarId = photo.avatarId.uuidString
            let count = try await db.first("SELECT COUNT(*) AS n FROM avatar_photos WHERE avatar_id = \(avatarId)", logger: logger) { try $0["n", as: Int.self] } ?? 0
            guard count < limit else { throw AishaError.tooManyPhotos }
            let duplicate = try await db.first("SELECT 1 AS one FROM avatar_photos WHERE avatar_id = \(avatarId) AND sha256 = \(photo.sha256)", logger: logger) { _ in true }
            guard duplicate == nil else { throw AishaError.photoRejected("duplicate") }
            try await db.run(
                """
                INSERT INTO avatar_photos (id, avatar_id, object_key, sha256, size, width, height, position, created_at)
                VALUES (\(photo.id.uuidString), \(avatarId), \(photo.objectKey), \(photo.sha256), \(photo.size), \(photo.width),
                  \(photo.height), \(count + 1), \(now.timeIntervalSince1970))
                """, logger: logger)
            try await db.run(
                """
                UPDATE avatars SET status = \(AvatarStatus.uploading.rawValue), updated_at = \(now.timeIntervalSince1970)
                WHERE id = \(avatarId) AND status = \(AvatarStatus.draft.rawValue)
                """, logger: logger)
            return count + 1
        }
    }

    public func photos(avatarId: UUID) async throws -> [AvatarPhoto] {
        try await autocommit { try await $0.all("SELECT * FROM avatar_photos WHERE avatar_id = \(avatarId.uuidString) ORDER BY position", logger: logger, AvatarPhoto.init(pg:)) }
    }

    // MARK: Settings

    public func setting(_ key: String) async throws -> String? {
        try await autocommit { try await $0.first("SELECT value FROM settings WHERE key = \(key)", logger: logger) { try $0["value", as: String.self] } }
    }

    public func setSetting(_ key: String, _ value: String) async throws {
        try await autocommit {
            try await $0.run("INSERT INTO settings (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", logger: logger)
        }
    }
}

/// The parts of a `postgres://` URL.
struct PostgresURL {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String?
    var schema: String?
    var tls: PostgresClient.Configuration.TLS

    init(_ url: String) throws {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""), let host = parts.host, !host.isEmpty else {
            throw PostgresStoreError("invalid DATABASE_URL \(url): use postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        self.host = host
        port = parts.port ?? 5432
        user = parts.user?.removingPercentEncoding ?? "postgres"
        password = parts.password?.removingPercentEncoding
        let path = String(parts.path.drop { $0 == "/" })
        database = path.isEmpty ? nil : path
        let query = parts.queryItems ?? []
        schema = query.first { $0.name == "schema" }?.value
        if let schema, !Self.isIdentifier(schema) {
            throw PostgresStoreError("invalid schema \(schema) in DATABASE_URL: letters, digits and _ only")
        }
        switch query.first(where: { $0.name == "sslmode" })?.value ?? "prefer" {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        case let other: throw PostgresStoreError("unsupported sslmode=\(other) in DATABASE_URL: use disable, prefer or require")
        }
    }

    static func isIdentifier(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 63 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } && !(name.first?.isNumber ?? true)
    }
}
