import Foundation
import PostgresNIO

extension PostgresAvatarStore {
    public func beginGeneration(_ g: Generation, now: Date) async throws {
        try await write { db in
            // The user's row is locked first: two taps on two instances are taken one after the other.
            let balance = try await db.first("SELECT balance FROM users WHERE id = \(g.ownerId) FOR UPDATE", logger: logger) { try $0["balance", as: Int.self] } ?? 0
            let running = try await db.first(
                "SELECT COUNT(*) AS n FROM generations WHERE owner_id = \(g.ownerId) AND status IN ('submitting', 'running')", logger: logger
            ) { try $0["n", as: Int.self] } ?? 0
            guard running == 0 else { throw AishaError.generationRunning }
            let cost = g.count * g.unitCost
            guard balance >= cost else { throw AishaError.insufficientCredits(balance: balance, cost: cost) }
            let at = now.timeIntervalSince1970
            try await db.run(
                """
                INSERT INTO generations (id, owner_id, avatar_id, prompt, aspect, count, unit_cost, status, app, delivered, created_at, updated_at)
                VALUES (\(g.id.uuidString), \(g.ownerId), \(g.avatarId.uuidString), \(g.prompt), \(g.aspect.rawValue), \(g.count), \(g.unitCost),
                        'submitting', \(g.app), 0, \(at), \(at))
                """, logger: logger)
            if cost > 0 {
                try await insertLedger(
                    db, LedgerEntry(userId: g.ownerId, avatarId: nil, attempt: 0, kind: .charge, amount: -cost, reason: "generation \(g.id.uuidString.lowercased())", createdAt: now))
            }
        }
    }

    public func recordGenerationSubmission(id: UUID, requestId: String, now: Date) async throws {
        try await autocommit { db in
            try await db.run(
                "UPDATE generations SET request_id = \(requestId), status = 'running', updated_at = \(now.timeIntervalSince1970) WHERE id = \(id.uuidString) AND status = 'submitting'",
                logger: logger)
        }
    }

    public func finishGeneration(
        id: UUID, status: GenerationStatus, images: [GeneratedImage], refundImages: Int, error: String?, notifications: [NotificationDraft], now: Date
    ) async throws -> Bool {
        try await write { db in
            guard let g = try await db.first("SELECT * FROM generations WHERE id = \(id.uuidString) FOR UPDATE", logger: logger, Generation.init(pg:)), !g.status.isFinal
            else { return false }
            try await db.run(
                """
                UPDATE generations SET status = \(status.rawValue), delivered = \(images.count), error = \(error), updated_at = \(now.timeIntervalSince1970)
                WHERE id = \(id.uuidString)
                """, logger: logger)
            for image in images {
                try await db.run(
                    """
                    INSERT INTO generated_images (generation_id, position, object_key, width, height)
                    VALUES (\(id.uuidString), \(image.position), \(image.objectKey), \(image.width), \(image.height))
                    """, logger: logger)
            }
            let refund = min(refundImages, g.count) * g.unitCost
            if refund > 0 {
                try await insertLedger(
                    db, LedgerEntry(userId: g.ownerId, avatarId: nil, attempt: 0, kind: .refund, amount: refund, reason: "generation \(id.uuidString.lowercased())", createdAt: now))
            }
            for notification in notifications { try await insertNotification(db, notification, now: now) }
            return true
        }
    }

    public func generation(id: UUID) async throws -> Generation? {
        try await autocommit { db in try await db.first("SELECT * FROM generations WHERE id = \(id.uuidString)", logger: logger, Generation.init(pg:)) }
    }

    public func generation(requestId: String) async throws -> Generation? {
        try await autocommit { db in try await db.first("SELECT * FROM generations WHERE request_id = \(requestId)", logger: logger, Generation.init(pg:)) }
    }

    public func generations(ownerId: Int64) async throws -> [Generation] {
        try await autocommit { db in
            try await db.all("SELECT * FROM generations WHERE owner_id = \(ownerId) ORDER BY created_at DESC", logger: logger, Generation.init(pg:))
        }
    }

    public func unfinishedGenerations(before: Date) async throws -> [Generation] {
        try await autocommit { db in
            try await db.all(
                "SELECT * FROM generations WHERE status IN ('submitting', 'running') AND updated_at < \(before.timeIntervalSince1970) ORDER BY created_at",
                logger: logger, Generation.init(pg:))
        }
    }

    public func generatedImages(generationId: UUID) async throws -> [GeneratedImage] {
        try await autocommit { db in
            try await db.all("SELECT * FROM generated_images WHERE generation_id = \(generationId.uuidString) ORDER BY position", logger: logger) { r in
                GeneratedImage(
                    generationId: generationId, position: try r["position"], objectKey: try r["object_key"], width: try r["width"], height: try r["height"])
            }
        }
    }
}

extension Generation {
    init(pg r: PGRow) throws {
        self.init(
            id: try r.uuid("id"), ownerId: try r["owner_id"], avatarId: try r.uuid("avatar_id"), prompt: try r["prompt"],
            aspect: AspectRatio(rawValue: try r["aspect"]) ?? .square, count: try r["count"], unitCost: try r["unit_cost"],
            status: GenerationStatus(rawValue: try r["status"]) ?? .failed, app: try r["app"], requestId: try r["request_id"],
            delivered: try r["delivered"], error: try r["error"], createdAt: try r.date("created_at"), updatedAt: try r.date("updated_at"))
    }
}
