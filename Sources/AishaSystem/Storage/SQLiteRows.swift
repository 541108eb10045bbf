import Foundation
import GRDB

extension User {
    init(row: Row) {
        self.init(
            id: row["id"], firstName: row["first_name"], language: row["language"], blocked: row["blocked"],
            balance: row["balance"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }
}

extension Avatar {
    init(row: Row) {
        self.init(
            id: UUID(uuidString: row["id"]) ?? UUID(), ownerId: row["owner_id"], name: row["name"],
            gender: Gender(rawValue: row["gender"]) ?? .female,
            trainingType: (row["training_type"] as String?).flatMap(TrainingType.init(rawValue:)),
            status: AvatarStatus(rawValue: row["status"]) ?? .error,
            preset: TrainingPreset(rawValue: row["preset"]) ?? .balanced, trainingAttempt: row["training_attempt"],
            trainerApp: row["trainer_app"], falRequestId: row["fal_request_id"], finetuneId: row["finetune_id"],
            loraURL: row["lora_url"], configURL: row["config_url"], triggerWord: row["trigger_word"],
            progress: row["progress"], errorText: row["error_text"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }
}

extension AvatarPhoto {
    init(row: Row) {
        self.init(
            id: UUID(uuidString: row["id"]) ?? UUID(), avatarId: UUID(uuidString: row["avatar_id"]) ?? UUID(),
            objectKey: row["object_key"], sha256: row["sha256"], size: row["size"], width: row["width"], height: row["height"],
            position: row["position"])
    }
}

extension LedgerEntry {
    init(row: Row) {
        self.init(
            userId: row["user_id"], avatarId: (row["avatar_id"] as String?).flatMap(UUID.init(uuidString:)), attempt: row["attempt"],
            kind: Kind(rawValue: row["kind"]) ?? .charge, amount: row["amount"], reason: row["reason"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }
}

extension SQLiteAvatarStore {
    static func fetchAvatar(_ db: Database, id: UUID) throws -> Avatar? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM avatars WHERE id = ?"), arguments: [id.uuidString]).map(Avatar.init(row:))
    }

    static func insert(_ db: Database, _ a: Avatar) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO avatars (id, owner_id, name, gender, training_type, status, preset, training_attempt, trainer_app,
                  fal_request_id, finetune_id, lora_url, config_url, trigger_word, progress, error_text, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            a.id.uuidString, a.ownerId, a.name, a.gender.rawValue, a.trainingType?.rawValue, a.status.rawValue, a.preset.rawValue,
            a.trainingAttempt, a.trainerApp, a.falRequestId, a.finetuneId, a.loraURL, a.configURL, a.triggerWord, a.progress,
            a.errorText, a.createdAt.timeIntervalSince1970, a.updatedAt.timeIntervalSince1970,
        ])
    }

    static func save(_ db: Database, _ a: Avatar) throws {
        try db.cachedStatement(
            sql: """
                UPDATE avatars SET name = ?, gender = ?, training_type = ?, status = ?, preset = ?, training_attempt = ?,
                  trainer_app = ?, fal_request_id = ?, finetune_id = ?, lora_url = ?, config_url = ?, trigger_word = ?,
                  progress = ?, error_text = ?, updated_at = ? WHERE id = ?
                """
        ).execute(arguments: [
            a.name, a.gender.rawValue, a.trainingType?.rawValue, a.status.rawValue, a.preset.rawValue, a.trainingAttempt,
            a.trainerApp, a.falRequestId, a.finetuneId, a.loraURL, a.configURL, a.triggerWord, a.progress, a.errorText,
            a.updatedAt.timeIntervalSince1970, a.id.uuidString,
        ])
    }

    static func insertLedger(_ db: Database, _ e: LedgerEntry) throws {
        try db.cachedStatement(sql: "INSERT INTO ledger (user_id, avatar_id, attempt, kind, amount, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [e.userId, e.avatarId?.uuidString, e.attempt, e.kind.rawValue, e.amount, e.reason, e.createdAt.timeIntervalSince1970])
        try db.cachedStatement(sql: "UPDATE users SET balance = balance + ? WHERE id = ?").execute(arguments: [e.amount, e.userId])
    }

    static func insertNotification(_ db: Database, _ draft: NotificationDraft, now: Date) throws {
        let buttons = String(decoding: try JSONEncoder().encode(draft.buttons), as: UTF8.self)
        let photos = String(decoding: try JSONEncoder().encode(draft.photos), as: UTF8.self)
        try db.cachedStatement(
            sql: """
                INSERT INTO outbox (chat_id, text, buttons, photos, dedupe_key, retires, state, attempts, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING
                """
        ).execute(arguments: [draft.chatId, draft.text, buttons, photos, draft.dedupeKey, draft.retires, now.timeIntervalSince1970, now.timeIntervalSince1970])
    }

    static func draft(_ row: Row) -> NotificationDraft {
        let buttons = (try? JSONDecoder().decode([[Button]].self, from: Data((row["buttons"] as String).utf8))) ?? []
        let photos = (try? JSONDecoder().decode([String].self, from: Data((row["photos"] as String).utf8))) ?? []
        return NotificationDraft(chatId: row["chat_id"], text: row["text"], buttons: buttons, dedupeKey: row["dedupe_key"], photos: photos, retires: row["retires"])
    }
}
