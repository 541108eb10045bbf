import Foundation
import Logging
import PostgresNIO

/// One fetched row with its cells decoded by column name.
struct PGRow {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) { self.row = row.makeRandomAccess() }

    subscript<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) -> T {
        get throws { try row[column].decode(T.self) }
    }

    func date(_ column: String) throws -> Date { Date(timeIntervalSince1970: try self[column, as: Double.self]) }
    func uuid(_ column: String) throws -> UUID {
        guard let id = UUID(uuidString: try self[column, as: String.self]) else { throw PostgresStoreError("column \(column) does not hold a UUID") }
        return id
    }
}

extension PostgresConnection {
    /// Every row of `query`, decoded by `transform`.
    func all<T>(_ query: PostgresQuery, logger: Logger, _ transform: (PGRow) throws -> T) async throws -> [T] {
        var values: [T] = []
        for try await row in try await self.query(query, logger: logger) { values.append(try transform(PGRow(row))) }
        return values
    }

    func first<T>(_ query: PostgresQuery, logger: Logger, _ transform: (PGRow) throws -> T) async throws -> T? {
        try await all(query, logger: logger, transform).first
    }

    func run(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await self.query(query, logger: logger)
    }
}

extension User {
    init(pg r: PGRow) throws {
        self.init(
            id: try r["id"], firstName: try r["first_name"], language: try r["language"], blocked: try r["blocked"],
            balance: try r["balance"], createdAt: try r.date("created_at"))
    }
}

extension Avatar {
    init(pg r: PGRow) throws {
        self.init(
            id: try r.uuid("id"), ownerId: try r["owner_id"], name: try r["name"],
            gender: Gender(rawValue: try r["gender"]) ?? .female,
            trainingType: try r["training_type", as: String?.self].flatMap(TrainingType.init(rawValue:)),
            status: AvatarStatus(rawValue: try r["status"]) ?? .error,
            preset: TrainingPreset(rawValue: try r["preset"]) ?? .balanced, trainingAttempt: try r["training_attempt"],
            trainerApp: try r["trainer_app"], falRequestId: try r["fal_request_id"], finetuneId: try r["finetune_id"],
            loraURL: try r["lora_url"], configURL: try r["config_url"], triggerWord: try r["trigger_word"],
            progress: try r["progress"], errorText: try r["error_text"], createdAt: try r.date("created_at"), updatedAt: try r.date("updated_at"))
    }
}

extension AvatarPhoto {
    init(pg r: PGRow) throws {
        self.init(
            id: try r.uuid("id"), avatarId: try r.uuid("avatar_id"), objectKey: try r["object_key"], sha256: try r["sha256"],
            size: try r["size"], width: try r["width"], height: try r["height"], position: try r["position"])
    }
}

extension LedgerEntry {
    init(pg r: PGRow) throws {
        self.init(
            userId: try r["user_id"], avatarId: try r["avatar_id", as: String?.self].flatMap(UUID.init(uuidString:)),
            attempt: try r["attempt"], kind: Kind(rawValue: try r["kind"]) ?? .charge, amount: try r["amount"], reason: try r["reason"],
            createdAt: try r.date("created_at"))
    }
}

extension QueuedNotification {
    init(pg r: PGRow) throws {
        let buttons = (try? JSONDecoder().decode([[Button]].self, from: Data(try r["buttons", as: String.self].utf8))) ?? []
        let photos = (try? JSONDecoder().decode([String].self, from: Data(try r["photos", as: String.self].utf8))) ?? []
        self.init(
            id: try r["id"],
            draft: NotificationDraft(
                chatId: try r["chat_id"], text: try r["text"], buttons: buttons, dedupeKey: try r["dedupe_key"], photos: photos,
                retires: try r["retires", as: String?.self]),
            attempts: try r["attempts"])
    }
}

/// The PostgreSQL schema, as named append-only migrations (the same names as the SQLite ones).
enum PostgresMigrations {
    static let all: [(name: String, sql: [String])] = [
        (
            "v1-users-avatars-photos-ledger-outbox",
            [
                """
                CREATE TABLE users (
                  id BIGINT PRIMARY KEY, first_name TEXT NOT NULL, language TEXT NOT NULL, blocked BOOLEAN NOT NULL DEFAULT FALSE,
                  balance BIGINT NOT NULL DEFAULT 0, created_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE TABLE conversations (user_id BIGINT PRIMARY KEY REFERENCES users(id), state TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL)",
                """
                CREATE TABLE avatars (
                  id TEXT PRIMARY KEY, owner_id BIGINT NOT NULL REFERENCES users(id), name TEXT NOT NULL, gender TEXT NOT NULL,
                  training_type TEXT, status TEXT NOT NULL, preset TEXT NOT NULL, training_attempt BIGINT NOT NULL DEFAULT 0,
                  trainer_app TEXT, fal_request_id TEXT UNIQUE, finetune_id TEXT, lora_url TEXT, config_url TEXT,
                  trigger_word TEXT NOT NULL, progress BIGINT NOT NULL DEFAULT 0, error_text TEXT,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX avatars_owner ON avatars(owner_id)",
                "CREATE INDEX avatars_status ON avatars(status, updated_at)",
                """
                CREATE TABLE avatar_photos (
                  id TEXT PRIMARY KEY, avatar_id TEXT NOT NULL REFERENCES avatars(id), object_key TEXT NOT NULL, sha256 TEXT NOT NULL,
                  size BIGINT NOT NULL, width BIGINT NOT NULL, height BIGINT NOT NULL, position BIGINT NOT NULL,
                  created_at DOUBLE PRECISION NOT NULL, UNIQUE(avatar_id, sha256))
                """,
                """
                CREATE TABLE submissions (
                  avatar_id TEXT NOT NULL REFERENCES avatars(id), attempt BIGINT NOT NULL, trainer_app TEXT NOT NULL, request_id TEXT,
                  state TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY(avatar_id, attempt))
                """,
                """
                CREATE TABLE ledger (
                  id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id), avatar_id TEXT, attempt BIGINT NOT NULL,
                  kind TEXT NOT NULL, amount BIGINT NOT NULL, reason TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                  UNIQUE(avatar_id, attempt, kind))
                """,
                """
                CREATE TABLE outbox (
                  id BIGSERIAL PRIMARY KEY, chat_id BIGINT NOT NULL, text TEXT NOT NULL, buttons TEXT NOT NULL,
                  dedupe_key TEXT NOT NULL UNIQUE, state TEXT NOT NULL, attempts BIGINT NOT NULL,
                  next_attempt_at DOUBLE PRECISION NOT NULL, last_error TEXT, created_at DOUBLE PRECISION NOT NULL,
                  sent_at DOUBLE PRECISION)
                """,
                "CREATE INDEX outbox_due ON outbox(state, next_attempt_at)",
                "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            ]
        ),
        ("v2-outbox-claims", ["ALTER TABLE outbox ADD COLUMN claimed_until DOUBLE PRECISION"]),
        ("v3-outbox-pending-per-chat", [SQLiteAvatarStore.pendingPerChatIndex]),
        ("v4-generations", SQLiteAvatarStore.generationTables.map { $0.replacing(" REAL", with: " DOUBLE PRECISION").replacing("INTEGER", with: "BIGINT") }),
        ("v5-outbox-photos", [SQLiteAvatarStore.outboxPhotosColumn]),
        ("v6-outbox-keyboards", SQLiteAvatarStore.outboxKeyboardColumns),
    ]
}
