import Foundation
import GRDB

extension SQLiteAvatarStore {
    /// The generations tables; the partial unique index keeps one running generation per user, across instances.
    static let generationTables = [
        """
        CREATE TABLE generations (
            id TEXT PRIMARY KEY, owner_id INTEGER NOT NULL, avatar_id TEXT NOT NULL, prompt TEXT NOT NULL, aspect TEXT NOT NULL,
            count INTEGER NOT NULL, unit_cost INTEGER NOT NULL, status TEXT NOT NULL, app TEXT NOT NULL, request_id TEXT,
            delivered INTEGER NOT NULL DEFAULT 0, error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL)
        """,
        "CREATE UNIQUE INDEX generations_one_running ON generations(owner_id) WHERE status IN ('submitting', 'running')",
        "CREATE INDEX generations_request ON generations(request_id)",
        """
        CREATE TABLE generated_images (
            generation_id TEXT NOT NULL, position INTEGER NOT NULL, object_key TEXT NOT NULL, width INTEGER NOT NULL,
            height INTEGER NOT NULL, PRIMARY KEY (generation_id, position))
        """,
    ]

    public func beginGeneration(_ g: Generation, now: Date) async throws {
        try await writer.write { db in
            let running = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT COUNT(*) FROM generations WHERE owner_id = ? AND status IN ('submitting', 'running')"),
                arguments: [g.ownerId]) ?? 0
            guard running == 0 else { throw AishaError.generationRunning }
            let cost = g.count * g.unitCost
            let balance = try Int.fetchOne(db.cachedStatement(sql: "SELECT balance FROM users WHERE id = ?"), arguments: [g.ownerId]) ?? 0
            guard balance >= cost else { throw AishaError.insufficientCredits(balance: balance, cost: cost) }
            try db.cachedStatement(
                sql: """
                    INSERT INTO generations (id, owner_id, avatar_id, prompt, aspect, count, unit_cost, status, app, delivered, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 'submitting', ?, 0, ?, ?)
                    """
            ).execute(arguments: [
                g.id.uuidString, g.ownerId, g.avatarId.uuidString, g.prompt, g.aspect.rawValue, g.count, g.unitCost, g.app,
                now.timeIntervalSince1970, now.timeIntervalSince1970,
            ])
            if cost > 0 {
                try Self.insertLedger(
                    db, LedgerEntry(userId: g.ownerId, avatarId: nil, attempt: 0, kind: .charge, amount: -cost, reason: "generation \(g.id.uuidString.lowercased())", createdAt: now))
            }
        }
    }

    public func recordGenerationSubmission(id: UUID, requestId: String, now: Date) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: "UPDATE generations SET request_id = ?, status = 'running', updated_at = ? WHERE id = ? AND status = 'submitting'")
                .execute(arguments: [requestId, now.timeIntervalSince1970, id.uuidString])
        }
    }

    public func finishGeneration(
        id: UUID, status: GenerationStatus, images: [GeneratedImage], refundImages: Int, error: String?, notifications: [NotificationDraft], now: Date
    ) async throws -> Bool {
        try await writer.write { db in
            guard let g = try Self.fetchGeneration(db, "id = ?", [id.uuidString]), !g.status.isFinal else { return false }
            try db.cachedStatement(sql: "UPDATE generations SET status = ?, delivered = ?, error = ?, updated_at = ? WHERE id = ?")
                .execute(arguments: [status.rawValue, images.count, error, now.timeIntervalSince1970, id.uuidString])
            for image in images {
                try db.cachedStatement(sql: "INSERT INTO generated_images (generation_id, position, object_key, width, height) VALUES (?, ?, ?, ?, ?)")
                    .execute(arguments: [id.uuidString, image.position, image.objectKey, image.width, image.height])
            }
            let refund = min(refundImages, g.count) * g.unitCost
            if refund > 0 {
                try Self.insertLedger(
                    db, LedgerEntry(userId: g.ownerId, avatarId: nil, attempt: 0, kind: .refund, amount: refund, reason: "generation \(id.uuidString.lowercased())", createdAt: now))
            }
            for notification in notifications { try Self.insertNotification(db, notification, now: now) }
            return true
        }
    }

    public func generation(id: UUID) async throws -> Generation? {
        try await writer.read { db in try Self.fetchGeneration(db, "id = ?", [id.uuidString]) }
    }

    public func generation(requestId: String) async throws -> Generation? {
        try await writer.read { db in try Self.fetchGeneration(db, "request_id = ?", [requestId]) }
    }

    public func generations(ownerId: Int64) async throws -> [Generation] {
        try await writer.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM generations WHERE owner_id = ? ORDER BY created_at DESC"), arguments: [ownerId])
                .map(Generation.init(row:))
        }
    }

    public func unfinishedGenerations(before: Date) async throws -> [Generation] {
        try await writer.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM generations WHERE status IN ('submitting', 'running') AND updated_at < ? ORDER BY created_at"),
                arguments: [before.timeIntervalSince1970]
            ).map(Generation.init(row:))
        }
    }

    public func generatedImages(generationId: UUID) async throws -> [GeneratedImage] {
        try await writer.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM generated_images WHERE generation_id = ? ORDER BY position"), arguments: [generationId.uuidString])
                .map { row in
                    GeneratedImage(
                        generationId: generationId, position: row["position"], objectKey: row["object_key"], width: row["width"], height: row["height"])
                }
        }
    }

    static func fetchGeneration(_ db: Database, _ condition: String, _ arguments: StatementArguments) throws -> Generation? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM generations WHERE \(condition)"), arguments: arguments).map(Generation.init(row:))
    }
}

extension Generation {
    init(row: Row) {
        self.init(
            id: UUID(uuidString: row["id"]) ?? UUID(), ownerId: row["owner_id"], avatarId: UUID(uuidString: row["avatar_id"]) ?? UUID(),
            prompt: row["prompt"], aspect: AspectRatio(rawValue: row["aspect"]) ?? .square, count: row["count"], unitCost: row["unit_cost"],
            status: GenerationStatus(rawValue: row["status"]) ?? .failed, app: row["app"], requestId: row["request_id"],
            delivered: row["delivered"], error: row["error"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }
}
