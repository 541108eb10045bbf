import Foundation
import GRDB

/// The embedded store: SQLite through GRDB, with named, append-only migrations.
public final class SQLiteAvatarStore: AvatarStore {
    let writer: any DatabaseWriter

    /// A database file (WAL mode), created and migrated as needed.
    public init(path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        writer = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(writer)
    }

    /// Closes the database: later calls fail (a restart opens it again).
    public func close() async {
        try? writer.close()
    }

    /// A private in-memory database (tests).
    public init() throws {
        writer = try DatabaseQueue()
        try Self.migrator.migrate(writer)
    }

    /// The named migrations, oldest first (what a fully migrated database has applied).
    public static var migrationNames: [String] { migrator.migrations }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-users-avatars-photos-ledger-outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                      id INTEGER PRIMARY KEY, first_name TEXT NOT NULL, language TEXT NOT NULL,
                      blocked INTEGER NOT NULL DEFAULT 0, balance INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
                    CREATE TABLE conversations (
                      user_id INTEGER PRIMARY KEY REFERENCES users(id), state TEXT NOT NULL, updated_at REAL NOT NULL);
                    CREATE TABLE avatars (
                      id TEXT PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES users(id), name TEXT NOT NULL,
                      gender TEXT NOT NULL, training_type TEXT, status TEXT NOT NULL, preset TEXT NOT NULL,
                      training_attempt INTEGER NOT NULL DEFAULT 0, trainer_app TEXT, fal_request_id TEXT UNIQUE,
                      finetune_id TEXT, lora_url TEXT, config_url TEXT, trigger_word TEXT NOT NULL,
                      progress INTEGER NOT NULL DEFAULT 0, error_text TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
                    CREATE INDEX avatars_owner ON avatars(owner_id);
                    CREATE INDEX avatars_status ON avatars(status, updated_at);
                    CREATE TABLE avatar_photos (
                      id TEXT PRIMARY KEY, avatar_id TEXT NOT NULL REFERENCES avatars(id), object_key TEXT NOT NULL,
                      sha256 TEXT NOT NULL, size INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
                      position INTEGER NOT NULL, created_at REAL NOT NULL, UNIQUE(avatar_id, sha256));
                    CREATE TABLE submissions (
                      avatar_id TEXT NOT NULL REFERENCES avatars(id), attempt INTEGER NOT NULL, trainer_app TEXT NOT NULL,
                      request_id TEXT, state TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY(avatar_id, attempt));
                    CREATE TABLE ledger (
                      id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users(id), avatar_id TEXT,
                      attempt INTEGER NOT NULL, kind TEXT NOT NULL, amount INTEGER NOT NULL, reason TEXT NOT NULL,
                      created_at REAL NOT NULL, UNIQUE(avatar_id, attempt, kind));
                    CREATE TABLE outbox (
                      id INTEGER PRIMARY KEY AUTOINCREMENT, chat_id INTEGER NOT NULL, text TEXT NOT NULL,
                      buttons TEXT NOT NULL, dedupe_key TEXT NOT NULL UNIQUE, state TEXT NOT NULL, attempts INTEGER NOT NULL,
                      next_attempt_at REAL NOT NULL, last_error TEXT, created_at REAL NOT NULL, sent_at REAL);
                    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
                    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    """)
        }
        migrator.registerMigration("v2-outbox-claims") { db in
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN claimed_until REAL")
        }
        migrator.registerMigration("v3-outbox-pending-per-chat") { db in
            try db.execute(sql: pendingPerChatIndex)
        }
        migrator.registerMigration("v4-generations") { db in
            for statement in generationTables { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v5-outbox-photos") { db in
            try db.execute(sql: outboxPhotosColumn)
        }
        migrator.registerMigration("v6-outbox-keyboards") { db in
            for statement in outboxKeyboardColumns { try db.execute(sql: statement) }
        }
        return migrator
    }

    /// A notification may carry stored images (a generation's result), sent as a photo or an album. Same SQL on PostgreSQL.
    static let outboxPhotosColumn = "ALTER TABLE outbox ADD COLUMN photos TEXT NOT NULL DEFAULT '[]'"

    /// A notification may retire the keyboard of an earlier one, whose message id is kept once sent. Same SQL on PostgreSQL.
    static let outboxKeyboardColumns = ["ALTER TABLE outbox ADD COLUMN retires TEXT", "ALTER TABLE outbox ADD COLUMN message_id BIGINT"]

    /// Finds a chat's earlier waiting message (the outbox sends one per chat at a time) without scanning the outbox:
    /// without it, claiming from many chats was quadratic in the pending messages. Same SQL on PostgreSQL.
    static let pendingPerChatIndex = "CREATE INDEX outbox_pending_per_chat ON outbox(chat_id, id) WHERE state = 'pending'"

    // MARK: Users and conversations

    public func ensureUser(id: Int64, firstName: String, language: String, welcomeCredits: Int, now: Date) async throws -> User {
        // Every update a user sends comes here: a known user whose name and language are unchanged costs a read, not
        // a write transaction (and its fsync).
        if let known = try await user(id: id), known.firstName == firstName, known.language == language { return known }
        return try await writer.write { db in
            if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE id = ?"), arguments: [id]) {
                try db.cachedStatement(sql: "UPDATE users SET first_name = ?, language = ? WHERE id = ?").execute(arguments: [
                    firstName, language, id,
                ])
                var user = User(row: row)
                user.firstName = firstName
                user.language = language
                return user
            }
            try db.cachedStatement(sql: "INSERT INTO users (id, first_name, language, blocked, balance, created_at) VALUES (?, ?, ?, 0, 0, ?)")
                .execute(arguments: [id, firstName, language, now.timeIntervalSince1970])
            if welcomeCredits > 0 {  // the grant's ledger row sets the balance
                try Self.insertLedger(
                    db,
                    LedgerEntry(
                        userId: id, avatarId: nil, attempt: 0, kind: .grant, amount: welcomeCredits, reason: "welcome credits", createdAt: now))
            }
            return User(id: id, firstName: firstName, language: language, blocked: false, balance: welcomeCredits, createdAt: now)
        }
    }

    public func user(id: Int64) async throws -> User? {
        try await writer.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE id = ?"), arguments: [id]).map(User.init(row:))
        }
    }

    public func setUserBlocked(id: Int64, blocked: Bool) async throws {
        try await writer.write { db in try db.cachedStatement(sql: "UPDATE users SET blocked = ? WHERE id = ?").execute(arguments: [blocked, id]) }
    }

    public func conversation(userId: Int64) async throws -> ConversationState {
        let json = try await writer.read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM conversations WHERE user_id = ?"), arguments: [userId])
        }
        guard let json else { return ConversationState() }
        return (try? JSONDecoder().decode(ConversationState.self, from: Data(json.utf8))) ?? ConversationState()
    }

    public func saveConversation(userId: Int64, _ state: ConversationState, now: Date) async throws {
        let json = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try await writer.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO conversations (user_id, state, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT(user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                    """
            ).execute(arguments: [userId, json, now.timeIntervalSince1970])
        }
    }

    public func advanceConversation(userId: Int64, from expected: ConversationState, to next: ConversationState, now: Date) async throws -> Bool {
        let json = String(decoding: try JSONEncoder().encode(next), as: UTF8.self)
        return try await writer.write { db in
            let stored = try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM conversations WHERE user_id = ?"), arguments: [userId])
            let current = stored.flatMap { try? JSONDecoder().decode(ConversationState.self, from: Data($0.utf8)) } ?? ConversationState()
            guard current == expected else { return false }
            try db.cachedStatement(
                sql: """
                    INSERT INTO conversations (user_id, state, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT(user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                    """
            ).execute(arguments: [userId, json, now.timeIntervalSince1970])
            return true
        }
    }

    // MARK: Avatars and photos

    public func createAvatar(_ avatar: Avatar) async throws {
        try await writer.write { db in try Self.insert(db, avatar) }
    }

    public func avatar(id: UUID) async throws -> Avatar? {
        try await writer.read { db in try Self.fetchAvatar(db, id: id) }
    }

    public func avatars(ownerId: Int64) async throws -> [Avatar] {
        try await writer.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM avatars WHERE owner_id = ? ORDER BY created_at, id"), arguments: [ownerId]).map(
                Avatar.init(row:))
        }
    }

    public func avatar(requestId: String) async throws -> Avatar? {
        try await writer.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM avatars WHERE fal_request_id = ?"), arguments: [requestId]).map(Avatar.init(row:))
        }
    }

    @discardableResult
    public func updateAvatar(id: UUID, now: Date, _ change: @escaping @Sendable (inout Avatar) throws -> Void) async throws -> Avatar {
        try await writer.write { db in
            guard var avatar = try Self.fetchAvatar(db, id: id) else { throw AishaError.avatarNotFound }
            try change(&avatar)
            avatar.updatedAt = now
            try Self.save(db, avatar)
            return avatar
        }
    }

    public func addPhoto(_ photo: AvatarPhoto, limit: Int, now: Date) async throws -> Int {
        try await writer.write { db in
            let count =
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT COUNT(*) FROM avatar_photos WHERE avatar_id = ?"), arguments: [photo.avatarId.uuidString]) ?? 0
            guard count < limit else { throw AishaError.tooManyPhotos }
            let duplicate =
                try Bool.fetchOne(
                    db.cachedStatement(sql: "SELECT 1 FROM avatar_photos WHERE avatar_id = ? AND sha256 = ?"),
                    arguments: [photo.avatarId.uuidString, photo.sha256]) ?? false
            guard !duplicate else { throw AishaError.photoRejected("duplicate") }
            try db.cachedStatement(
                sql: """
                    INSERT INTO avatar_photos (id, avatar_id, object_key, sha256, size, width, height, position, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                photo.id.uuidString, photo.avatarId.uuidString, photo.objectKey, photo.sha256, photo.size, photo.width,
                photo.height, count + 1, now.timeIntervalSince1970,
            ])
            try db.cachedStatement(sql: "UPDATE avatars SET status = ?, updated_at = ? WHERE id = ? AND status = ?").execute(arguments: [
                AvatarStatus.uploading.rawValue, now.timeIntervalSince1970, photo.avatarId.uuidString, AvatarStatus.draft.rawValue,
            ])
            return count + 1
        }
    }

    public func photos(avatarId: UUID) async throws -> [AvatarPhoto] {
        try await writer.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM avatar_photos WHERE avatar_id = ? ORDER BY position"), arguments: [avatarId.uuidString]
            )
            .map(AvatarPhoto.init(row:))
        }
    }

    // MARK: Settings

    public func setting(_ key: String) async throws -> String? {
        try await writer.read { db in try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM settings WHERE key = ?"), arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                .execute(arguments: [key, value])
        }
    }
}
