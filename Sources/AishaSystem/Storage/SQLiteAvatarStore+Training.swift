import Foundation
import GRDB

extension SQLiteAvatarStore {
    public func beginTraining(avatarId: UUID, ownerId: Int64, cost: Int, trainerApp: String, now: Date) async throws -> TrainingTicket {
        try await writer.write { db in
            guard var avatar = try Self.fetchAvatar(db, id: avatarId) else { throw AishaError.avatarNotFound }
            guard avatar.ownerId == ownerId else { throw AishaError.notYourAvatar }
            if avatar.status == .training { throw AishaError.trainingAlreadyStarted }
            guard avatar.status == .readyForTraining || avatar.status == .error else { throw AishaError.staleButton }
            let photos =
                try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM avatar_photos WHERE avatar_id = ?"), arguments: [avatarId.uuidString])
                ?? 0
            guard photos >= TrainingRules.minPhotos else { throw AishaError.notEnoughPhotos(have: photos) }
            let balance = try Int.fetchOne(db.cachedStatement(sql: "SELECT balance FROM users WHERE id = ?"), arguments: [ownerId]) ?? 0
            guard balance >= cost else { throw AishaError.insufficientCredits(balance: balance, cost: cost) }
            let attempt = avatar.trainingAttempt + 1
            if cost > 0 {
                try Self.insertLedger(
                    db,
                    LedgerEntry(
                        userId: ownerId, avatarId: avatarId, attempt: attempt, kind: .charge, amount: -cost, reason: "avatar training", createdAt: now
                    ))
            }
            try db.cachedStatement(sql: "INSERT INTO submissions (avatar_id, attempt, trainer_app, state, created_at) VALUES (?, ?, ?, 'pending', ?)")
                .execute(arguments: [avatarId.uuidString, attempt, trainerApp, now.timeIntervalSince1970])
            avatar.beginAttempt(attempt, trainerApp: trainerApp, now: now)
            try Self.save(db, avatar)
            return TrainingTicket(avatar: avatar, attempt: attempt, charged: cost)
        }
    }

    public func recordSubmission(avatarId: UUID, attempt: Int, requestId: String, announcement: NotificationDraft?, now: Date) async throws {
        try await writer.write { db in
            try db.cachedStatement(
                sql:
                    "UPDATE submissions SET request_id = ?1, state = 'submitted' WHERE avatar_id = ?2 AND attempt = ?3 AND (request_id IS NULL OR request_id = ?1)"
            ).execute(arguments: [requestId, avatarId.uuidString, attempt])
            try db.cachedStatement(
                sql: """
                    UPDATE avatars SET fal_request_id = ?1, updated_at = ?2
                    WHERE id = ?3 AND training_attempt = ?4 AND status = 'training' AND (fal_request_id IS NULL OR fal_request_id = ?1)
                    """
            ).execute(arguments: [requestId, now.timeIntervalSince1970, avatarId.uuidString, attempt])
            if let announcement, db.changesCount > 0 { try Self.insertNotification(db, announcement, now: now) }
        }
    }

    @discardableResult
    public func abortTraining(
        avatarId: UUID, attempt: Int, error: String, status: AvatarStatus, notification: NotificationDraft?, now: Date
    ) async throws -> Bool {
        try await writer.write { db in
            guard var avatar = try Self.fetchAvatar(db, id: avatarId), avatar.trainingAttempt == attempt, avatar.status == .training else { return false }
            try Self.refund(db, avatar: avatar, attempt: attempt, now: now)
            try db.cachedStatement(sql: "UPDATE submissions SET state = 'failed' WHERE avatar_id = ? AND attempt = ?").execute(arguments: [
                avatarId.uuidString, attempt,
            ])
            avatar.status = status
            avatar.errorText = error
            avatar.updatedAt = now
            try Self.save(db, avatar)
            if let notification { try Self.insertNotification(db, notification, now: now) }
            return true
        }
    }

    public func applyOutcome(
        requestId: String, _ outcome: TrainingOutcome, now: Date, notify: @escaping @Sendable (Avatar) -> NotificationDraft
    ) async throws -> OutcomeApplication {
        try await writer.write { db in
            guard
                var avatar = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM avatars WHERE fal_request_id = ?"), arguments: [requestId]).map(
                    Avatar.init(row:))
            else {
                let owner = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT avatar_id FROM submissions WHERE request_id = ?"), arguments: [requestId])
                if let owner, let id = UUID(uuidString: owner), let avatar = try Self.fetchAvatar(db, id: id) { return .alreadyFinal(avatar) }
                return .unknownRequest
            }
            guard avatar.status == .training else { return .alreadyFinal(avatar) }
            avatar.apply(outcome)
            if avatar.status == .error { try Self.refund(db, avatar: avatar, attempt: avatar.trainingAttempt, now: now) }
            avatar.updatedAt = now
            try Self.save(db, avatar)
            try db.cachedStatement(sql: "UPDATE submissions SET state = ? WHERE avatar_id = ? AND attempt = ?").execute(arguments: [
                avatar.status == .completed ? "completed" : "failed", avatar.id.uuidString, avatar.trainingAttempt,
            ])
            try Self.insertNotification(db, notify(avatar), now: now)
            return .applied(avatar)
        }
    }

    public func staleTrainings(before: Date) async throws -> [Avatar] {
        try await writer.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT * FROM avatars WHERE status = 'training' AND fal_request_id IS NOT NULL AND updated_at < ? ORDER BY updated_at"),
                arguments: [before.timeIntervalSince1970]
            ).map(Avatar.init(row:))
        }
    }

    public func markSubmitting(avatarId: UUID, attempt: Int, now: Date) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: "UPDATE submissions SET state = 'submitting' WHERE avatar_id = ? AND attempt = ? AND state = 'pending'")
                .execute(arguments: [avatarId.uuidString, attempt])
            try db.cachedStatement(sql: "UPDATE avatars SET updated_at = ? WHERE id = ? AND training_attempt = ? AND status = 'training'").execute(
                arguments: [now.timeIntervalSince1970, avatarId.uuidString, attempt])
        }
    }

    public func unconfirmedTrainings(pendingBefore: Date, submittingBefore: Date) async throws -> [Avatar] {
        try await writer.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT a.* FROM avatars a JOIN submissions s ON s.avatar_id = a.id AND s.attempt = a.training_attempt
                        WHERE a.status = 'training' AND a.fal_request_id IS NULL
                          AND ((s.state = 'pending' AND a.updated_at < ?) OR (s.state = 'submitting' AND a.updated_at < ?))
                        ORDER BY a.updated_at
                        """),
                arguments: [pendingBefore.timeIntervalSince1970, submittingBefore.timeIntervalSince1970]
            ).map(Avatar.init(row:))
        }
    }

    public func touchTraining(avatarId: UUID, progress: Int?, now: Date) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: "UPDATE avatars SET progress = COALESCE(?, progress), updated_at = ? WHERE id = ? AND status = 'training'")
                .execute(arguments: [progress, now.timeIntervalSince1970, avatarId.uuidString])
        }
    }

    public func ledger(userId: Int64) async throws -> [LedgerEntry] {
        try await writer.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM ledger WHERE user_id = ? ORDER BY id"), arguments: [userId]).map(
                LedgerEntry.init(row:))
        }
    }

    /// Refunds the charge of an attempt once (the ledger's unique key makes a second refund impossible).
    static func refund(_ db: Database, avatar: Avatar, attempt: Int, now: Date) throws {
        let charged = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT -amount FROM ledger WHERE avatar_id = ? AND attempt = ? AND kind = 'charge'"),
            arguments: [avatar.id.uuidString, attempt])
        let refunded =
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM ledger WHERE avatar_id = ? AND attempt = ? AND kind = 'refund'"),
                arguments: [avatar.id.uuidString, attempt]) ?? false
        guard let charged, charged > 0, !refunded else { return }
        try insertLedger(
            db,
            LedgerEntry(
                userId: avatar.ownerId, avatarId: avatar.id, attempt: attempt, kind: .refund, amount: charged, reason: "training failed",
                createdAt: now))
    }

    // MARK: Outbox

    public func enqueue(_ draft: NotificationDraft, now: Date) async throws {
        try await writer.write { db in try Self.insertNotification(db, draft, now: now) }
    }

    /// Pending notifications that are due, oldest first, skipping any chat whose earlier message waits (order kept),
    /// claimed until `leaseUntil` in the same write transaction.
    public func claimDueNotifications(now: Date, limit: Int, leaseUntil: Date) async throws -> [QueuedNotification] {
        try await writer.write { db in
            let due = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM outbox o WHERE state = 'pending' AND next_attempt_at <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)
                          AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.chat_id = o.chat_id AND e.state = 'pending' AND e.id < o.id)
                        ORDER BY id LIMIT ?2
                        """),
                arguments: [now.timeIntervalSince1970, limit]
            ).map { QueuedNotification(id: $0["id"], draft: Self.draft($0), attempts: $0["attempts"]) }
            for item in due {
                try db.cachedStatement(sql: "UPDATE outbox SET claimed_until = ? WHERE id = ?").execute(arguments: [
                    leaseUntil.timeIntervalSince1970, item.id,
                ])
            }
            return due
        }
    }

    /// When the next message can be sent: the earliest due time among the first waiting message of each chat.
    public func operationalStats(now: Date) async throws -> OperationalStats {
        try await writer.read { db in
            let outbox = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox WHERE state = 'pending'")
            let ledger = try Row.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(SUM(CASE WHEN kind = 'charge' THEN -amount ELSE 0 END), 0) AS charged,
                           COALESCE(SUM(CASE WHEN kind = 'refund' THEN amount ELSE 0 END), 0) AS refunded FROM ledger
                    """)
            let oldest: Double? = outbox?["oldest"]
            return OperationalStats(
                pendingNotifications: outbox?["pending"] ?? 0, oldestPendingSeconds: oldest.map { max(0, now.timeIntervalSince1970 - $0) } ?? 0,
                charged: ledger?["charged"] ?? 0, refunded: ledger?["refunded"] ?? 0)
        }
    }

    public func nextNotificationDue() async throws -> Date? {
        try await writer.read { db in
            // Only the first waiting message of each chat can go next; a later one waits for it, however due.
            try Double.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT MIN(MAX(next_attempt_at, COALESCE(claimed_until, 0))) FROM outbox o WHERE state = 'pending'
                          AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.chat_id = o.chat_id AND e.state = 'pending' AND e.id < o.id)
                        """)
            )
            .map(Date.init(timeIntervalSince1970:))
        }
    }

    public func markNotificationSent(id: Int64, messageId: Int64?, now: Date) async throws {
        try await writer.write { db in
            try db.cachedStatement(
                sql: "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, claimed_until = NULL, message_id = ? WHERE id = ?"
            ).execute(arguments: [now.timeIntervalSince1970, messageId, id])
        }
    }

    public func takeKeyboardMessage(dedupeKey: String) async throws -> Int64? {
        try await writer.write { db in
            let message = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT message_id FROM outbox WHERE dedupe_key = ? AND state = 'sent'"), arguments: [dedupeKey])
            if message != nil { try db.cachedStatement(sql: "UPDATE outbox SET message_id = NULL WHERE dedupe_key = ?").execute(arguments: [dedupeKey]) }
            return message
        }
    }

    public func rescheduleNotification(id: Int64, at: Date, error: String) async throws {
        try await writer.write { db in
            try db.cachedStatement(
                sql: "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1, last_error = ?, claimed_until = NULL WHERE id = ?"
            ).execute(arguments: [at.timeIntervalSince1970, error, id])
        }
    }

    public func releaseNotification(id: Int64) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: "UPDATE outbox SET claimed_until = NULL WHERE id = ? AND state = 'pending'").execute(arguments: [id])
        }
    }

    public func dropNotification(id: Int64, reason: String, now: Date) async throws {
        try await writer.write { db in
            try db.cachedStatement(
                sql: "UPDATE outbox SET state = 'dropped', last_error = ?, attempts = attempts + 1, claimed_until = NULL WHERE id = ?"
            ).execute(arguments: [reason, id])
        }
    }
}

/// Photo and training limits from the design.
public enum TrainingRules {
    public static let minPhotos = 10
    public static let maxPhotos = 20
    public static let minShortSide = 512
    public static let maxPhotoBytes = 20 * 1024 * 1024
    /// Decompression-bomb guard: more pixels than this is refused from the header alone.
    public static let maxPixels = 40_000_000
    /// Above this many pixels, fewer than `bombBytesPerPixel` bytes per pixel marks a decompression bomb.
    public static let bombPixels = 16_000_000
    public static let bombBytesPerPixel = 0.005
}
