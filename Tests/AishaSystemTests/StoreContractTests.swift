@testable import AishaSystem
import Foundation
import Logging
import Testing

/// The PostgreSQL server the tests may use: `AISHA_TEST_DATABASE_URL` (`.ci/run` starts one with `.ci/postgres`).
enum TestPostgres {
    static var url: String? { ProcessInfo.processInfo.environment["AISHA_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    static var available: Bool { url != nil }
    static let reason: Comment = "needs AISHA_TEST_DATABASE_URL=postgres://… (bash .ci/postgres starts a local server and prints it)"

    /// The test server's URL with a fresh schema of its own, so tests never see each other's rows.
    static func freshURL() -> String? {
        guard let url else { return nil }
        let schema = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        return url + (url.contains("?") ? "&" : "?") + "schema=\(schema)"
    }
}

/// Which store a contract test runs on.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres
    var testDescription: String { rawValue }

    static var available: [StoreKind] { TestPostgres.available ? [.sqlite, .postgres] : [.sqlite] }

    func open() async throws -> any AvatarStore {
        switch self {
        case .sqlite: return try SQLiteAvatarStore()
        case .postgres: return try await PostgresAvatarStore(url: TestPostgres.freshURL()!, logger: .quiet)
        }
    }
}

@Suite("Store contract: the same guarantees on SQLite and PostgreSQL")
struct StoreContractTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    func readyAvatar(_ store: any AvatarStore, owner: Int64 = 7, credits: Int = 150) async throws -> Avatar {
        _ = try await store.ensureUser(id: owner, firstName: "Ann", language: "ru", welcomeCredits: credits, now: now)
        let id = UUID()
        let avatar = Avatar(
            id: id, ownerId: owner, name: "Ann", gender: .female, trainingType: .portrait, status: .draft, preset: .balanced, trainingAttempt: 0,
            triggerWord: Avatar.triggerWord(for: id), progress: 0, createdAt: now, updatedAt: now)
        try await store.createAvatar(avatar)
        for index in 0..<TrainingRules.minPhotos {
            let photo = AvatarPhoto(id: UUID(), avatarId: avatar.id, objectKey: "p/\(index)", sha256: "sha\(index)", size: 10, width: 512, height: 512, position: 0)
            _ = try await store.addPhoto(photo, limit: TrainingRules.maxPhotos, now: now)
        }
        return try await store.updateAvatar(id: avatar.id, now: now) { $0.status = .readyForTraining }
    }

    @Test("welcome credits granted once; user fields updated", arguments: StoreKind.available)
    func users(kind: StoreKind) async throws {
        let store = try await kind.open()
        #expect(try await store.ensureUser(id: 1, firstName: "A", language: "ru", welcomeCredits: 150, now: now).balance == 150)
        let again = try await store.ensureUser(id: 1, firstName: "B", language: "en", welcomeCredits: 150, now: now)
        #expect(again.balance == 150 && again.firstName == "B" && again.language == "en")
        #expect(try await store.ledger(userId: 1).count == 1)
        try await store.setUserBlocked(id: 1, blocked: true)
        #expect(try await store.user(id: 1)?.blocked == true)
        await store.close()
    }

    @Test("photos: limit, duplicates, order, draft → uploading", arguments: StoreKind.available)
    func photos(kind: StoreKind) async throws {
        let store = try await kind.open()
        let avatar = try await readyAvatar(store)
        let duplicate = AvatarPhoto(id: UUID(), avatarId: avatar.id, objectKey: "x", sha256: "sha3", size: 1, width: 512, height: 512, position: 0)
        await #expect(throws: AishaError.photoRejected("duplicate")) { try await store.addPhoto(duplicate, limit: 20, now: now) }
        let extra = AvatarPhoto(id: UUID(), avatarId: avatar.id, objectKey: "y", sha256: "new", size: 1, width: 512, height: 512, position: 0)
        await #expect(throws: AishaError.tooManyPhotos) { try await store.addPhoto(extra, limit: 10, now: now) }
        #expect(try await store.photos(avatarId: avatar.id).map(\.position) == Array(1...10))
        await store.close()
    }

    @Test("concurrent starts of one avatar: one charge, one ticket; outcome applied once; failure refunded once", arguments: StoreKind.available)
    func trainingOnce(kind: StoreKind) async throws {
        let store = try await kind.open()
        let avatar = try await readyAvatar(store)
        let tickets = await withTaskGroup(of: TrainingTicket?.self) { group in
            for _ in 0..<8 {
                group.addTask { try? await store.beginTraining(avatarId: avatar.id, ownerId: 7, cost: 150, trainerApp: "fal-ai/x", now: now) }
            }
            return await group.reduce(into: []) { $0.append($1) }.compactMap { $0 }
        }
        #expect(tickets.count == 1)
        #expect(try await store.user(id: 7)?.balance == 0)
        // The announcement is queued once (the submit's answer may follow a webhook that bound the id already).
        let started = NotificationDraft(chatId: 7, text: "started", dedupeKey: "started:\(avatar.id):1")
        try await store.recordSubmission(avatarId: avatar.id, attempt: 1, requestId: "req-1", announcement: started, now: now)
        try await store.recordSubmission(avatarId: avatar.id, attempt: 1, requestId: "req-1", announcement: started, now: now)
        let draft: @Sendable (Avatar) -> NotificationDraft = { NotificationDraft(chatId: $0.ownerId, text: "done", dedupeKey: "outcome:\($0.id)") }
        let applications = await withTaskGroup(of: OutcomeApplication?.self) { group in
            for _ in 0..<8 { group.addTask { try? await store.applyOutcome(requestId: "req-1", .failed(message: "boom"), now: now, notify: draft) } }
            return await group.reduce(into: []) { $0.append($1) }.compactMap { $0 }
        }
        #expect(applications.filter { if case .applied = $0 { true } else { false } }.count == 1)
        #expect(applications.count == 8)
        #expect(try await store.user(id: 7)?.balance == 150)
        #expect(try await store.ledger(userId: 7).map(\.kind) == [.grant, .charge, .refund])
        #expect(try await store.applyOutcome(requestId: "nope", .finetune(id: "f"), now: now, notify: draft) == .unknownRequest)
        // A training that has ended is not announced any more.
        let late = NotificationDraft(chatId: 7, text: "late", dedupeKey: "started:late")
        try await store.recordSubmission(avatarId: avatar.id, attempt: 1, requestId: "req-1", announcement: late, now: now)
        var texts: [String] = []
        while let next = try await store.claimDueNotifications(now: now, limit: 10, leaseUntil: now.addingTimeInterval(60)).first {
            texts.append(next.draft.text)
            try await store.markNotificationSent(id: next.id, messageId: nil, now: now)
        }
        #expect(texts == ["started", "done"])
        await store.close()
    }

    @Test("outbox: concurrent claimers never share a notification; order per chat; an expired claim is taken again", arguments: StoreKind.available)
    func outboxClaims(kind: StoreKind) async throws {
        let store = try await kind.open()
        for chat in 1...20 {
            for index in 0..<3 { try await store.enqueue(NotificationDraft(chatId: Int64(chat), text: "\(chat)-\(index)", dedupeKey: "\(chat)-\(index)"), now: now) }
        }
        try await store.enqueue(NotificationDraft(chatId: 1, text: "dup", dedupeKey: "1-0"), now: now)
        let lease = now.addingTimeInterval(60)
        let claims = await withTaskGroup(of: [QueuedNotification].self) { group in
            for _ in 0..<6 { group.addTask { (try? await store.claimDueNotifications(now: now, limit: 5, leaseUntil: lease)) ?? [] } }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(claims.map(\.id)).count == claims.count)
        #expect(Set(claims.map(\.draft.chatId)).count == claims.count, "one message per chat in flight")
        #expect(claims.allSatisfy { $0.draft.text.hasSuffix("-0") })
        #expect(try await store.claimDueNotifications(now: now, limit: 50, leaseUntil: lease).count == 20 - claims.count)

        let first = try #require(claims.first)
        try await store.markNotificationSent(id: first.id, messageId: nil, now: now)
        let next = try await store.claimDueNotifications(now: now, limit: 50, leaseUntil: lease)
        #expect(next.map(\.draft.text) == ["\(first.draft.chatId)-1"])
        #expect(try await store.nextNotificationDue() == lease)
        let expired = try await store.claimDueNotifications(now: lease, limit: 50, leaseUntil: lease.addingTimeInterval(60))
        #expect(expired.count == 20, "claims of a sender that died expire")
        await store.close()
    }

    @Test("outbox: a sent notification's keyboard message is kept and handed out once; what retires it survives the queue", arguments: StoreKind.available)
    func keyboardMessages(kind: StoreKind) async throws {
        let store = try await kind.open()
        try await store.enqueue(NotificationDraft(chatId: 3, text: "started", buttons: [[Button("cancel", "c")]], dedupeKey: "started:a:1"), now: now)
        try await store.enqueue(NotificationDraft(chatId: 3, text: "ready", dedupeKey: "outcome:r", retires: "started:a:1"), now: now)
        #expect(try await store.takeKeyboardMessage(dedupeKey: "started:a:1") == nil, "not sent yet")
        let started = try #require(try await store.claimDueNotifications(now: now, limit: 10, leaseUntil: now.addingTimeInterval(60)).first)
        try await store.markNotificationSent(id: started.id, messageId: 42, now: now)
        let outcome = try #require(try await store.claimDueNotifications(now: now, limit: 10, leaseUntil: now.addingTimeInterval(60)).first)
        #expect(outcome.draft.retires == "started:a:1")
        #expect(started.draft.retires == nil)
        let takers = await withTaskGroup(of: Int64?.self) { group in
            for _ in 0..<4 { group.addTask { try? await store.takeKeyboardMessage(dedupeKey: "started:a:1") } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(takers.compactMap { $0 } == [42], "of those that would retire it, one does")
        try await store.markNotificationSent(id: outcome.id, messageId: nil, now: now)
        #expect(try await store.takeKeyboardMessage(dedupeKey: "outcome:r") == nil)
        await store.close()
    }

    @Test("outbox: a claim given back untried (a sender shutting down) is due again at once, not after the lease", arguments: StoreKind.available)
    func releasedClaim(kind: StoreKind) async throws {
        let store = try await kind.open()
        try await store.enqueue(NotificationDraft(chatId: 4, text: "ready", dedupeKey: "outcome:x"), now: now)
        let lease = now.addingTimeInterval(1800)
        let claimed = try #require(try await store.claimDueNotifications(now: now, limit: 10, leaseUntil: lease).first)
        #expect(try await store.claimDueNotifications(now: now, limit: 10, leaseUntil: lease).isEmpty)
        try await store.releaseNotification(id: claimed.id)
        #expect(try await store.nextNotificationDue() == now)
        let again = try await store.claimDueNotifications(now: now, limit: 10, leaseUntil: lease)
        #expect(again.map(\.id) == [claimed.id] && again.first?.attempts == claimed.attempts, "untried: no attempt counted")
        await store.close()
    }

    @Test("unconfirmed and stale trainings; touch; abort refunds once and notifies", arguments: StoreKind.available)
    func pollerQueries(kind: StoreKind) async throws {
        let store = try await kind.open()
        let avatar = try await readyAvatar(store)
        _ = try await store.beginTraining(avatarId: avatar.id, ownerId: 7, cost: 150, trainerApp: "fal-ai/x", now: now)
        let later = now.addingTimeInterval(600)
        #expect(try await store.unconfirmedTrainings(pendingBefore: later, submittingBefore: later).map(\.id) == [avatar.id])
        try await store.markSubmitting(avatarId: avatar.id, attempt: 1, now: now)
        #expect(try await store.unconfirmedTrainings(pendingBefore: later, submittingBefore: now).isEmpty, "sent to FAL: waits longer")
        #expect(try await store.unconfirmedTrainings(pendingBefore: later, submittingBefore: later).map(\.id) == [avatar.id])
        #expect(try await store.staleTrainings(before: later).isEmpty)
        let notice = NotificationDraft(chatId: 7, text: "failed", dedupeKey: "abort")
        let ended = [
            try await store.abortTraining(avatarId: avatar.id, attempt: 1, error: "not confirmed", status: .error, notification: notice, now: later),
            try await store.abortTraining(avatarId: avatar.id, attempt: 1, error: "not confirmed", status: .error, notification: notice, now: later),
        ]
        #expect(ended == [true, false], "the second abort finds the attempt ended and changes nothing")
        #expect(try await store.avatar(id: avatar.id)?.status == .error)
        #expect(try await store.user(id: 7)?.balance == 150)
        #expect(try await store.claimDueNotifications(now: later, limit: 9, leaseUntil: later).count == 1)
        let retry = try await store.beginTraining(avatarId: avatar.id, ownerId: 7, cost: 150, trainerApp: "fal-ai/x", now: later)
        #expect(retry.attempt == 2)
        try await store.recordSubmission(avatarId: avatar.id, attempt: 2, requestId: "req-2", announcement: nil, now: later)
        #expect(try await store.staleTrainings(before: later.addingTimeInterval(1)).map(\.falRequestId) == ["req-2"])
        try await store.touchTraining(avatarId: avatar.id, progress: 40, now: later.addingTimeInterval(5))
        #expect(try await store.staleTrainings(before: later.addingTimeInterval(1)).isEmpty)
        #expect(try await store.avatar(requestId: "req-2")?.progress == 40)
        try await store.saveConversation(userId: 7, ConversationState(step: .confirming, avatarId: avatar.id), now: later)
        #expect(try await store.conversation(userId: 7).step == .confirming)
        // A double tap: two updates read the same state; only one may move it on.
        let read = try await store.conversation(userId: 7)
        let moves = try await withThrowingTaskGroup(of: Bool.self) { group in
            for step in [ConversationState.Step.idle, .awaitingName] {
                group.addTask { try await store.advanceConversation(userId: 7, from: read, to: ConversationState(step: step), now: later) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(moves.sorted { !$0 && $1 } == [false, true])
        #expect(try await !store.advanceConversation(userId: 7, from: read, to: ConversationState(), now: later), "the state it read is gone")
        try await store.setSetting("k", "v1")
        try await store.setSetting("k", "v2")
        #expect(try await store.setting("k") == "v2")
        await store.close()
    }
}

@Suite("PostgreSQL store set-up", .enabled(if: TestPostgres.available, TestPostgres.reason))
struct PostgresSetupTests {
    @Test("migrations are applied once even when instances start together; a bad URL is a clear error")
    func migrations() async throws {
        let url = try #require(TestPostgres.freshURL())
        let stores = try await withThrowingTaskGroup(of: PostgresAvatarStore.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresAvatarStore(url: url, logger: .quiet) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let names = try await stores[0].autocommit { try await $0.all("SELECT name FROM schema_migrations ORDER BY name", logger: .quiet) { try $0["name", as: String.self] } }
        #expect(names == PostgresMigrations.all.map(\.name).sorted())
        for store in stores { await store.close() }
        await #expect(throws: PostgresStoreError.self) { try await PostgresAvatarStore(url: "postgres://x@127.0.0.1:1/db?schema=bad-name") }
        await #expect(throws: PostgresStoreError.self) { try await PostgresAvatarStore(url: "postgres://x@127.0.0.1:1/db?sslmode=verify-full") }
    }
}
