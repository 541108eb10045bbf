import Foundation
import PostgresNIO

extension PostgresAvatarStore {
    public func beginTraining(avatarId: UUID, ownerId: Int64, cost: Int, trainerApp: String, now: Date) async throws -> TrainingTicket {
        try await write { db in
            guard var avatar = try await lockAvatar(db, id: avatarId) else { throw AishaError.avatarNotFound }
            guard avatar.ownerId == ownerId else { throw AishaError.notYourAvatar }
            if avatar.status == .training { throw AishaError.trainingAlreadyStarted }
            guard avatar.status == .readyForTraining || avatar.status == .error else { throw AishaError.staleButton }
            let id = avatarId.uuidString
            let photos = try await db.first("SELECT COUNT(*) AS n FROM avatar_photos WHERE avatar_id = \(id)", logger: logger) { try $0["n", as: Int.self] } ?? 0
            guard photos >= TrainingRules.minPhotos else { throw AishaError.notEnoughPhotos(have: photos) }
            let balance = try await db.first("SELECT balance FROM users WHERE id = \(ownerId) FOR UPDATE", logger: logger) { try $0["balance", as: Int.self] } ?? 0
            guard balance >= cost else { throw AishaError.insufficientCredits(balance: balance, cost: cost) }
            let attempt = avatar.trainingAttempt + 1
            if cost > 0 {
                try await insertLedger(
                    db, LedgerEntry(userId: ownerId, avatarId: avatarId, attempt: attempt, kind: .charge, amount: -cost, reason: "avatar training", createdAt: now))
            }
            try await db.run(
                "INSERT INTO submissions (avatar_id, attempt, trainer_app, state, created_at) VALUES (\(id), \(attempt), \(trainerApp), 'pending', \(now.timeIntervalSince1970))",
                logger: logger)
            avatar.beginAttempt(attempt, trainerApp: trainerApp, now: now)
            try await save(db, avatar)
            return TrainingTicket(avatar: avatar, attempt: attempt, charged: cost)
        }
    }

    public func recordSubmission(avatarId: UUID, attempt: Int, requestId: String, announcement: NotificationDraft?, now: Date) async throws {
        try await write { db in
            let id = avatarId.uuidString
            try await db.run(
                """
                UPDATE submissions SET request_id = \(requestId), state = 'submitted'
                WHERE avatar_id = \(id) AND attempt = \(attempt) AND (request_id IS NULL OR request_id = \(requestId))
                """, logger: logger)
            let running = try await db.first(
                """
                UPDATE avatars SET fal_request_id = \(requestId), updated_at = \(now.timeIntervalSince1970)
                WHERE id = \(id) AND training_attempt = \(attempt) AND status = 'training'
                  AND (fal_request_id IS NULL OR fal_request_id = \(requestId))
                RETURNING id
                """, logger: logger) { _ in true }
            if let announcement, running != nil { try await insertNotification(db, announcement, now: now) }
        }
    }

    @discardableResult
    public func abortTraining(avatarId: UUID, attempt: Int, error: String, status: AvatarStatus, notification: NotificationDraft?, now: Date) async throws -> Bool {
        try await write { db in
            guard var avatar = try await lockAvatar(db, id: avatarId), avatar.trainingAttempt == attempt, avatar.status == .training else { return false }
            try await refund(db, avatar: avatar, attempt: attempt, now: now)
            try await db.run("UPDATE submissions SET state = 'failed' WHERE avatar_id = \(avatarId.uuidString) AND attempt = \(attempt)", logger: logger)
            avatar.status = status
            avatar.errorText = error
            avatar.updatedAt = now
            try await save(db, avatar)
            if let notification { try await insertNotification(db, notification, now: now) }
            return true
        }
    }

    public func applyOutcome(
        requestId: String, _ outcome: TrainingOutcome, now: Date, notify: @escaping @Sendable (Avatar) -> NotificationDraft
    ) async throws -> OutcomeApplication {
        try await write { db in
            // The row lock makes a second instance applying the same report wait, then see a final avatar.
            var found = try await db.first("SELECT * FROM avatars WHERE fal_request_id = \(requestId) FOR UPDATE", logger: logger, Avatar.init(pg:))
            if found == nil {
                let owner = try await db.first("SELECT avatar_id FROM submissions WHERE request_id = \(requestId)", logger: logger) { try $0.uuid("avatar_id") }
                guard let owner, let locked = try await lockAvatar(db, id: owner) else { return .unknownRequest }
                // The submit's answer may have been stored between the two reads (each sees the latest commit): then
                // this report is for the avatar's current training, not a late one.
                guard locked.falRequestId == requestId else { return .alreadyFinal(locked) }
                found = locked
            }
            guard var avatar = found else { return .unknownRequest }
            guard avatar.status == .training else { return .alreadyFinal(avatar) }
            avatar.apply(outcome)
            if avatar.status == .error { try await refund(db, avatar: avatar, attempt: avatar.trainingAttempt, now: now) }
            avatar.updatedAt = now
            try await save(db, avatar)
            try await db.run(
                "UPDATE submissions SET state = \(avatar.status == .completed ? "completed" : "failed") WHERE avatar_id = \(avatar.id.uuidString) AND attempt = \(avatar.trainingAttempt)",
                logger: logger)
            try await insertNotification(db, notify(avatar), now: now)
            return .applied(avatar)
        }
    }

    public func staleTrainings(before: Date) async throws -> [Avatar] {
        try await autocommit {
            try await $0.all(
                "SELECT * FROM avatars WHERE status = 'training' AND fal_request_id IS NOT NULL AND updated_at < \(before.timeIntervalSince1970) ORDER BY updated_at",
                logger: logger, Avatar.init(pg:))
        }
    }

    public func markSubmitting(avatarId: UUID, attempt: Int, now: Date) async throws {
        try await write { db in
            let id = avatarId.uuidString
            try await db.run("UPDATE submissions SET state = 'submitting' WHERE avatar_id = \(id) AND attempt = \(attempt) AND state = 'pending'", logger: logger)
            try await db.run(
                "UPDATE avatars SET updated_at = \(now.timeIntervalSince1970) WHERE id = \(id) AND training_attempt = \(attempt) AND status = 'training'",
                logger: logger)
        }
    }

    public func unconfirmedTrainings(pendingBefore: Date, submittingBefore: Date) async throws -> [Avatar] {
        try await autocommit {
            try await $0.all(
                """
                SELECT a.* FROM avatars a JOIN submissions s ON s.avatar_id = a.id AND s.attempt = a.training_attempt
                WHERE a.status = 'training' AND a.fal_request_id IS NULL
                  AND ((s.state = 'pending' AND a.updated_at < \(pendingBefore.timeIntervalSince1970))
                    OR (s.state = 'submitting' AND a.updated_at < \(submittingBefore.timeIntervalSince1970)))
                ORDER BY a.updated_at
                """, logger: logger, Avatar.init(pg:))
        }
    }

    public func touchTraining(avatarId: UUID, progress: Int?, now: Date) async throws {
        try await autocommit {
            try await $0.run(
                "UPDATE avatars SET progress = COALESCE(\(progress), progress), updated_at = \(now.timeIntervalSince1970) WHERE id = \(avatarId.uuidString) AND status = 'training'",
                logger: logger)
        }
    }

    public func ledger(userId: Int64) async throws -> [LedgerEntry] {
        try await autocommit { try await $0.all("SELECT * FROM ledger WHERE user_id = \(userId) ORDER BY id", logger: logger, LedgerEntry.init(pg:)) }
    }

    // MARK: Outbox

    public func enqueue(_ draft: NotificationDraft, now: Date) async throws {
        try await autocommit { try await insertNotification($0, draft, now: now) }
    }

    /// Due notifications, oldest first and only the first waiting one per chat, claimed until `leaseUntil`;
    /// `SKIP LOCKED` lets instances claim side by side without ever taking the same row.
    public func claimDueNotifications(now: Date, limit: Int, leaseUntil: Date) async throws -> [QueuedNotification] {
        let now = now.timeIntervalSince1970
        return try await write {
            try await $0.all(
                """
                UPDATE outbox SET claimed_until = \(leaseUntil.timeIntervalSince1970) WHERE id IN (
                  SELECT id FROM outbox o WHERE state = 'pending' AND next_attempt_at <= \(now) AND (claimed_until IS NULL OR claimed_until <= \(now))
                    AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.chat_id = o.chat_id AND e.state = 'pending' AND e.id < o.id)
                  ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING *
                """, logger: logger, QueuedNotification.init(pg:)
            ).sorted { $0.id < $1.id }
        }
    }

    public func nextNotificationDue() async throws -> Date? {
        let due = try await autocommit {
            try await $0.first(
                """
                SELECT MIN(GREATEST(next_attempt_at, COALESCE(claimed_until, 0))) AS due FROM outbox o WHERE state = 'pending'
                  AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.chat_id = o.chat_id AND e.state = 'pending' AND e.id < o.id)
                """, logger: logger
            ) { try $0["due", as: Double?.self] }
        }
        return due.flatMap { $0 }.map(Date.init(timeIntervalSince1970:))
    }

    public func operationalStats(now: Date) async throws -> OperationalStats {
        try await autocommit { db in
            let (pending, oldest) = try await db.first(
                "SELECT COUNT(*)::BIGINT AS pending, MIN(created_at) AS oldest FROM outbox WHERE state = 'pending'", logger: logger
            ) { (try $0["pending", as: Int.self], try $0["oldest", as: Double?.self]) } ?? (0, nil)
            let (charged, refunded) = try await db.first(
                """
                SELECT COALESCE(SUM(CASE WHEN kind = 'charge' THEN -amount ELSE 0 END), 0)::BIGINT AS charged,
                       COALESCE(SUM(CASE WHEN kind = 'refund' THEN amount ELSE 0 END), 0)::BIGINT AS refunded FROM ledger
                """, logger: logger
            ) { (try $0["charged", as: Int.self], try $0["refunded", as: Int.self]) } ?? (0, 0)
            return OperationalStats(
                pendingNotifications: pending, oldestPendingSeconds: oldest.map { max(0, now.timeIntervalSince1970 - $0) } ?? 0, charged: charged, refunded: refunded)
        }
    }

    public func markNotificationSent(id: Int64, messageId: Int64?, now: Date) async throws {
        try await autocommit {
            try await $0.run(
                """
                UPDATE outbox SET state = 'sent', sent_at = \(now.timeIntervalSince1970), attempts = attempts + 1, claimed_until = NULL, message_id = \(messageId)
                WHERE id = \(id)
                """, logger: logger)
        }
    }

    public func takeKeyboardMessage(dedupeKey: String) async throws -> Int64? {
        try await write { db in
            let message = try await db.first(
                "SELECT message_id FROM outbox WHERE dedupe_key = \(dedupeKey) AND state = 'sent' FOR UPDATE", logger: logger
            ) { try $0["message_id", as: Int64?.self] }.flatMap { $0 }
            if message != nil { try await db.run("UPDATE outbox SET message_id = NULL WHERE dedupe_key = \(dedupeKey)", logger: logger) }
            return message
        }
    }

    public func rescheduleNotification(id: Int64, at: Date, error: String) async throws {
        try await autocommit {
            try await $0.run(
                "UPDATE outbox SET next_attempt_at = \(at.timeIntervalSince1970), attempts = attempts + 1, last_error = \(error), claimed_until = NULL WHERE id = \(id)",
                logger: logger)
        }
    }

    public func releaseNotification(id: Int64) async throws {
        try await autocommit { try await $0.run("UPDATE outbox SET claimed_until = NULL WHERE id = \(id) AND state = 'pending'", logger: logger) }
    }

    public func dropNotification(id: Int64, reason: String, now: Date) async throws {
        try await autocommit {
            try await $0.run("UPDATE outbox SET state = 'dropped', last_error = \(reason), attempts = attempts + 1, claimed_until = NULL WHERE id = \(id)", logger: logger)
        }
    }

    // MARK: Rows

    func lockAvatar(_ db: PostgresConnection, id: UUID) async throws -> Avatar? {
        try await db.first("SELECT * FROM avatars WHERE id = \(id.uuidString) FOR UPDATE", logger: logger, Avatar.init(pg:))
    }

    func save(_ db: PostgresConnection, _ a: Avatar) async throws {
        try await db.run(
            """
            UPDATE avatars SET name = \(a.name), gender = \(a.gender.rawValue), training_type = \(a.trainingType?.rawValue), status = \(a.status.rawValue),
              preset = \(a.preset.rawValue), training_attempt = \(a.trainingAttempt), trainer_app = \(a.trainerApp), fal_request_id = \(a.falRequestId),
              finetune_id = \(a.finetuneId), lora_url = \(a.loraURL), config_url = \(a.configURL), trigger_word = \(a.triggerWord),
              progress = \(a.progress), error_text = \(a.errorText), updated_at = \(a.updatedAt.timeIntervalSince1970)
            WHERE id = \(a.id.uuidString)
            """, logger: logger)
    }

    func insertLedger(_ db: PostgresConnection, _ e: LedgerEntry) async throws {
        try await db.run(
            """
            INSERT INTO ledger (user_id, avatar_id, attempt, kind, amount, reason, created_at)
            VALUES (\(e.userId), \(e.avatarId?.uuidString), \(e.attempt), \(e.kind.rawValue), \(e.amount), \(e.reason), \(e.createdAt.timeIntervalSince1970))
            """, logger: logger)
        try await db.run("UPDATE users SET balance = balance + \(e.amount) WHERE id = \(e.userId)", logger: logger)
    }

    /// Refunds the charge of an attempt once (the ledger's unique key makes a second refund impossible).
    func refund(_ db: PostgresConnection, avatar: Avatar, attempt: Int, now: Date) async throws {
        let id = avatar.id.uuidString
        let charged = try await db.first("SELECT -amount AS charged FROM ledger WHERE avatar_id = \(id) AND attempt = \(attempt) AND kind = 'charge'", logger: logger) {
            try $0["charged", as: Int.self]
        }
        let refunded = try await db.first("SELECT 1 AS one FROM ledger WHERE avatar_id = \(id) AND attempt = \(attempt) AND kind = 'refund'", logger: logger) { _ in true }
        guard let charged, charged > 0, refunded == nil else { return }
        try await insertLedger(
            db, LedgerEntry(userId: avatar.ownerId, avatarId: avatar.id, attempt: attempt, kind: .refund, amount: charged, reason: "training failed", createdAt: now))
    }

    func insertNotification(_ db: PostgresConnection, _ draft: NotificationDraft, now: Date) async throws {
        let buttons = String(decoding: try JSONEncoder().encode(draft.buttons), as: UTF8.self)
        let photos = String(decoding: try JSONEncoder().encode(draft.photos), as: UTF8.self)
        try await db.run(
            """
            INSERT INTO outbox (chat_id, text, buttons, photos, dedupe_key, retires, state, attempts, next_attempt_at, created_at)
            VALUES (
              \(draft.chatId), \(draft.text), \(buttons), \(photos), \(draft.dedupeKey), \(draft.retires), 'pending', 0, \(now.timeIntervalSince1970),
              \(now.timeIntervalSince1970))
            ON CONFLICT (dedupe_key) DO NOTHING
            """, logger: logger)
    }
}
