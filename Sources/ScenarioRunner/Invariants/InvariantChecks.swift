import AishaSystem
import Foundation
import MockFAL

/// The checks, each over the evidence of one run.
enum InvariantChecks {
    static func violations(_ evidence: RunEvidence, allowed: Set<Invariant> = []) -> [Violation] {
        var found: [Violation] = []
        for invariant in Invariant.allCases where !allowed.contains(invariant) {
            found += check(invariant, evidence)
        }
        return found
    }

    static func check(_ invariant: Invariant, _ e: RunEvidence) -> [Violation] {
        func violation(_ subject: String, _ evidence: String) -> Violation { Violation(invariant: invariant, subject: subject, evidence: evidence) }
        let avatars = e.accounts.flatMap { account in account.avatars.map { ($0.avatar, $0.photos) } }
        switch invariant {
        case .ledgerBalanced:
            return e.accounts.compactMap { account in
                let sum = account.ledger.map(\.amount).reduce(0, +)
                guard account.user.balance != sum || account.user.balance < 0 else { return nil }
                return violation("user \(account.user.id)", "balance \(account.user.balance), ledger sums to \(sum): \(account.ledger.map { "\($0.kind.rawValue) \($0.amount)" })")
            }
        case .chargeOncePerAttempt:
            var found: [Violation] = []
            for account in e.accounts {
                let byAttempt = Dictionary(grouping: account.ledger.filter { $0.avatarId != nil }) { "\($0.avatarId!.uuidString.lowercased())#\($0.attempt)" }
                for (key, entries) in byAttempt.sorted(by: { $0.key < $1.key }) {
                    let charges = entries.filter { $0.kind == .charge }.count
                    let refunds = entries.filter { $0.kind == .refund }.count
                    if charges > 1 || refunds > 1 || refunds > charges {
                        found.append(violation("attempt \(key)", "\(charges) charge(s), \(refunds) refund(s)"))
                    }
                }
                for (avatar, _) in account.avatars where avatar.status == .completed && e.cost > 0 {
                    let entries = byAttempt["\(avatar.id.uuidString.lowercased())#\(avatar.trainingAttempt)"] ?? []
                    if entries.filter({ $0.kind == .charge }).count != 1 || entries.contains(where: { $0.kind == .refund }) {
                        found.append(violation("avatar «\(avatar.name)»", "completed, but its attempt \(avatar.trainingAttempt) has \(entries.map(\.kind.rawValue))"))
                    }
                }
            }
            return found
        case .generationUsesOwnAvatar:
            let generations = e.accounts.flatMap(\.generations)
            return e.jobs.compactMap { job in
                guard let id = generationId(job) else { return nil }
                guard let generation = generations.first(where: { $0.id.uuidString.lowercased() == id }),
                    let avatar = avatars.first(where: { $0.0.id == generation.avatarId })?.0
                else { return violation("job \(job.requestId.prefix(8))", "a generation job no generation owns") }
                var wrong: [String] = []
                if avatar.ownerId != generation.ownerId { wrong.append("avatar of user \(avatar.ownerId) used by user \(generation.ownerId)") }
                if let finetune = job.input["finetune_id"]?.stringValue, finetune != avatar.finetuneId { wrong.append("finetune_id \(finetune) is not \(avatar.finetuneId ?? "none")") }
                for lora in job.input["loras"]?.arrayValue ?? [] where lora["path"]?.stringValue != avatar.loraURL {
                    wrong.append("LoRA \(lora["path"]?.stringValue ?? "?") is not \(avatar.loraURL ?? "none")")
                }
                if job.input["prompt"]?.stringValue?.hasPrefix(avatar.triggerWord) != true { wrong.append("prompt lacks the trigger word \(avatar.triggerWord)") }
                return wrong.isEmpty ? nil : violation("generation with «\(avatar.name)»", wrong.joined(separator: "; "))
            }
        case .generationPaidOnce:
            var found: [Violation] = []
            let jobs = Dictionary(grouping: e.jobs.compactMap { job in generationId(job).map { ($0, job) } }) { $0.0 }
            for account in e.accounts {
                for generation in account.generations {
                    let count = jobs[generation.id.uuidString.lowercased()]?.count ?? 0
                    if count > 1 { found.append(violation("generation \(generation.id.uuidString.prefix(8))", "\(count) jobs at FAL")) }
                }
                let entries = account.ledger.filter { $0.avatarId == nil && $0.kind != .grant }
                let charged = -entries.filter { $0.kind == .charge }.map(\.amount).reduce(0, +)
                let refunded = entries.filter { $0.kind == .refund }.map(\.amount).reduce(0, +)
                let owed = account.generations.map { $0.count * $0.unitCost }.reduce(0, +)
                let missing = account.generations.filter(\.status.isFinal).map { ($0.count - $0.delivered) * $0.unitCost }.reduce(0, +)
                if charged != owed || refunded != missing {
                    found.append(violation("user \(account.user.id)", "generations charged \(charged) (owed \(owed)), refunded \(refunded) (missing images \(missing))"))
                }
            }
            return found
        case .onePaidJobPerAttempt:
            let byAttempt = Dictionary(grouping: e.jobs.compactMap { job in owner(job).map { ($0, job) } }) { $0.0 }
            return byAttempt.sorted { $0.key < $1.key }.compactMap { key, jobs in
                jobs.count > 1 ? violation("attempt \(key)", "\(jobs.count) jobs at FAL: \(jobs.map { $0.1.requestId.prefix(8) })") : nil
            }
        case .noOrphanPaidJob:
            return e.jobs.compactMap { job in
                guard generationId(job) == nil else { return nil }  // generation-paid-once judges those
                let avatar = avatars.first { $0.0.id.uuidString.lowercased() == ownerParts(job)?.avatar }?.0
                // A crash between FAL's answer and storing it leaves a request id nobody knows; if its webhook does not
                // arrive while the training still waits for it (it never comes, or comes after the user cancelled or the
                // submission timeout failed the training), nothing can find the job in time (FAL lists no requests): a
                // loss explore shows, not a bug.
                let waiting = avatar.map { $0.status.isFinal ? $0.updatedAt : .distantFuture } ?? .distantFuture
                let unknowable = e.crashedAfterSubmit && !job.webhookAttempts.contains { $0.outcome == .delivered && $0.date < waiting }
                switch job.status {
                case "COMPLETED":
                    guard avatar?.status != .completed || avatar?.falRequestId != job.requestId, !unknowable else { return nil }
                    return violation(
                        "job \(job.requestId.prefix(8))",
                        "FAL finished it (paid), but its avatar is \(avatar.map { "\($0.status.rawValue) with request \($0.falRequestId?.prefix(8) ?? "none")" } ?? "unknown")")
                case "IN_QUEUE", "IN_PROGRESS":
                    guard let avatar, avatar.status.isFinal else { return nil }
                    return violation("job \(job.requestId.prefix(8))", "still running at FAL, but its avatar is \(avatar.status.rawValue)")
                default:
                    return nil
                }
            }
        case .stateForward:
            return e.history.sorted { $0.key.uuidString < $1.key.uuidString }.flatMap { id, statuses in
                zip(statuses, statuses.dropFirst()).compactMap { from, to in
                    allowed(from, to) ? nil : violation("avatar \(id.uuidString.prefix(8))", "\(from.rawValue) → \(to.rawValue) (history \(statuses.map(\.rawValue)))")
                }
            }
        case .resultFromOwnJob:
            return avatars.compactMap { avatar, _ in
                guard avatar.status == .completed else { return nil }
                guard let job = e.jobs.first(where: { $0.requestId == avatar.falRequestId }), let output = job.output else {
                    return violation("avatar «\(avatar.name)»", "completed with no finished FAL job of its own (request \(avatar.falRequestId ?? "none"))")
                }
                let finetune = output["finetune_id"]?.stringValue
                let lora = output["diffusers_lora_file"]?["url"]?.stringValue
                guard avatar.finetuneId != finetune || avatar.loraURL != lora else { return nil }
                return violation("avatar «\(avatar.name)»", "stored finetune \(avatar.finetuneId ?? "none") / LoRA \(avatar.loraURL ?? "none"), FAL returned \(finetune ?? "none") / \(lora ?? "none")")
            }
        case .outcomeToldOnce:
            return told(e, avatars.map(\.0), violation)
        case .silentAfterBlock:
            let sends: Set = ["sendmessage", "sendphoto", "editmessagetext", "editmessagereplymarkup"]
            return Dictionary(grouping: e.calls.filter { $0.chatId != nil && sends.contains($0.method) }) { $0.chatId! }.sorted { $0.key < $1.key }
                .compactMap { chat, calls in
                    // As with flood waits: one call per process (a second instance, a restarted one) may have been on its
                    // way before the 403 reached it.
                    guard let first = calls.firstIndex(where: { $0.status == 403 }), calls.count > first + 1 + e.processes else { return nil }
                    return violation("chat \(chat)", "\(calls.count - first - 1) call(s) after its 403: \(calls[(first + 1)...].map(\.method))")
                }
        case .submitsMeetContract:
            return e.journal.filter { $0.kind == .submit }.compactMap { entry in
                guard let verdict = entry.verdict, verdict == .rejected || verdict == .recorded, !e.expectedVerdicts.contains(verdict) else { return nil }
                return violation("submit to \(entry.appId ?? entry.path)", "\(verdict.rawValue): \((entry.problems ?? []).map { "\($0.field): \($0.msg)" })")
            }
        case .archiveHoldsPhotos:
            return e.jobs.compactMap { job in
                guard let count = job.imageCount, let parts = ownerParts(job),
                    let (avatar, photos) = avatars.first(where: { $0.0.id.uuidString.lowercased() == parts.avatar }),
                    avatar.trainingAttempt == parts.attempt, count != photos
                else { return nil }
                return violation("avatar «\(avatar.name)»", "FAL's archive held \(count) image(s), the avatar has \(photos) photo(s)")
            }
        case .noUnaskedRefusal:
            // A cancel that loses the race with the job's end is answered 400 ALREADY_COMPLETED, and the result of a
            // failed job is its error (e.g. 422 file_download_error): FAL's answers, not refusals.
            let finished = Set(e.jobs.filter { $0.status != "IN_QUEUE" && $0.status != "IN_PROGRESS" }.map(\.requestId))
            let failed = Set(e.jobs.filter { $0.status == "FAILED" }.map(\.requestId))
            let fal = e.journal.filter { entry in
                (400..<500).contains(entry.httpStatus) && entry.kind != .submit && entry.kind != .webhook
                    && !(entry.kind == .cancel && entry.httpStatus == 400 && entry.requestId.map(finished.contains) == true)
                    && !(entry.kind == .result && entry.requestId.map(failed.contains) == true)
                    && !e.expectedFALStatuses.contains("\(entry.kind.rawValue) \(entry.httpStatus)")
            }.map { violation("FAL \($0.kind.rawValue) \($0.path)", "answered \($0.httpStatus) with no fault or expectation asking for it") }
            let deprecated = e.journal.filter { $0.kind == .submit && $0.httpStatus == 410 && !e.deprecationAsked }
                .map { violation("FAL submit \($0.path)", "answered 410 with no fault asking for it") }
            // Two instances side by side may both make the same edit: the second is a no-op Telegram names, not a fault.
            let telegram = e.calls.filter { (400..<500).contains($0.status) && $0.cause == .ran }
                .filter { !(e.concurrentInstances && $0.description?.contains("message is not modified") == true) }
                .map { violation("Telegram \($0.method)\($0.chatId.map { " to \($0)" } ?? "")", "answered \($0.status) \($0.description ?? "")") }
            return fal + deprecated + telegram
        case .trainingsFinish:
            guard e.settled else { return [] }
            return avatars.compactMap { avatar, _ in
                guard e.history[avatar.id]?.contains(.training) == true else { return nil }
                // Still waiting on a job FAL has not finished (held in FAL's queue longer than the run lets time pass) is
                // not stuck: the poller is asking about it.
                let running = e.jobs.contains { $0.requestId == avatar.falRequestId && ($0.status == "IN_QUEUE" || $0.status == "IN_PROGRESS") }
                guard avatar.status.isFinal || running else {
                    return violation("avatar «\(avatar.name)»", "still \(avatar.status.rawValue) after everything settled")
                }
                guard avatar.status.isFinal else { return nil }
                let failure = "Обучение аватара «\(avatar.name)» не удалось"
                let told = e.messages.contains { $0.chatId == avatar.ownerId && $0.text.contains(failure) }
                    || e.calls.contains { $0.chatId == avatar.ownerId && ($0.text ?? "").contains(failure) && $0.cause != .ran }
                guard avatar.status == .error, avatar.falRequestId != nil, !told else { return nil }
                return violation("avatar «\(avatar.name)»", "failed (\(avatar.errorText ?? "?")) and its owner was never told")
            }
        case .outcomeToldPromptly:
            return avatars.compactMap { avatar, _ in
                let text = avatar.status == .completed ? Texts.ready(avatar) : "Обучение аватара «\(avatar.name)» не удалось"
                let tries = e.calls.filter { $0.chatId == avatar.ownerId && ($0.text ?? "").contains(text) }
                guard avatar.status == .completed || avatar.status == .error, let first = tries.first else { return nil }
                let late = first.time.timeIntervalSince(avatar.updatedAt)
                // After a crash between a send and its mark, the chat waits for the dead sender's claim to run out.
                guard late > Self.promptness + (e.crashedAfterSend ? Notifier.claimLease : 0) else { return nil }
                return violation("avatar «\(avatar.name)»", String(format: "outcome stored, then first sent %.0f s later", late))
            }
        case .retryAfterRespected:
            // One call per wait and process may have been on its way before the 429 that began it reached the bot
            // (each process, a restarted one too, learns of a wait from its own 429, as every Telegram client does);
            // more were sent after the bot knew.
            var waited: [Int64?: Int] = [:]
            var found: [Violation] = []
            for call in e.calls {
                if call.status == 429, call.cause != .floodWait { waited[call.chatId] = 0 }
                guard call.cause == .floodWait else { continue }
                waited[call.chatId, default: 0] += 1
                if waited[call.chatId]! > e.processes {
                    found.append(violation("Telegram \(call.method) to \(call.chatId ?? 0)", "sent during the flood wait of a 429 the bot had already been given"))
                }
            }
            return found
        }
    }

    /// The avatar and attempt a job was submitted for, from its webhook URL (`?avatar_id=…&attempt=…`).
    /// How long a stored outcome may wait for its first send.
    static let promptness: TimeInterval = 30

    static func ownerParts(_ job: JobSnapshot) -> (avatar: String, attempt: Int)? {
        guard let url = job.webhookURL, let items = URLComponents(string: url)?.queryItems,
            let avatar = items.first(where: { $0.name == "avatar_id" })?.value, let attempt = items.first(where: { $0.name == "attempt" })?.value.flatMap(Int.init)
        else { return nil }
        return (avatar, attempt)
    }

    /// The generation a job's webhook URL names.
    static func generationId(_ job: JobSnapshot) -> String? {
        guard let url = job.webhookURL, let query = URLComponents(string: url)?.queryItems else { return nil }
        return query.first { $0.name == "generation_id" }?.value
    }

    static func owner(_ job: JobSnapshot) -> String? { ownerParts(job).map { "\($0.avatar)#\($0.attempt)" } }

    /// Forward moves; backwards only for a retrain after an error and for a start that failed before FAL.
    static func allowed(_ from: AvatarStatus, _ to: AvatarStatus) -> Bool {
        let rank: [AvatarStatus: Int] = [.draft: 0, .uploading: 1, .readyForTraining: 2, .training: 3, .completed: 4, .error: 4, .cancelled: 4]
        switch (from, to) {
        case (.completed, _), (.cancelled, _): return from == to
        case (.error, .error), (.error, .training): return true
        case (.error, _): return false
        case (.training, .readyForTraining): return true
        default: return rank[to]! >= rank[from]!
        }
    }

    private static func told(_ e: RunEvidence, _ avatars: [Avatar], _ violation: (String, String) -> Violation) -> [Violation] {
        var found: [Violation] = []
        // A crash between a send and its mark repeats that one message (the outbox is at least once).
        var repeatsAllowed = e.crashedAfterSend ? 1 : 0
        func toldTooOften(_ count: Int, _ limit: Int) -> Bool {
            guard count > limit else { return false }
            guard count == limit + 1, repeatsAllowed > 0 else { return true }
            repeatsAllowed -= 1
            return false
        }
        for avatar in avatars {
            let mine = e.messages.filter { $0.chatId == avatar.ownerId }
            let ready = Texts.ready(avatar)
            let readyAt = mine.indices.filter { mine[$0].text == ready }
            let failedAt = mine.indices.filter { mine[$0].text.contains("Обучение аватара «\(avatar.name)» не удалось") }
            // A send a fault refused was still the telling (the scenario took the message away); a user who blocked the
            // bot is not told at all once the bot has had its 403.
            let refused = e.calls.contains { $0.chatId == avatar.ownerId && (($0.text == ready && $0.cause == .fault) || $0.cause == .blocked) }
            if avatar.status == .completed, toldTooOften(readyAt.count, 1) || (readyAt.isEmpty && !refused) {
                found.append(violation("avatar «\(avatar.name)»", "completed, told \(readyAt.count) time(s)"))
            }
            let completedNamesake = avatars.contains { $0.id != avatar.id && $0.ownerId == avatar.ownerId && $0.name == avatar.name && $0.status == .completed }
            if avatar.status != .completed, !readyAt.isEmpty, !completedNamesake {
                found.append(violation("avatar «\(avatar.name)»", "told it is ready, but it is \(avatar.status.rawValue)"))
            }
            if toldTooOften(failedAt.count, max(1, avatar.trainingAttempt)) {
                found.append(violation("avatar «\(avatar.name)»", "failure told \(failedAt.count) time(s) over \(avatar.trainingAttempt) attempt(s)"))
            }
            // The current attempt's outcome comes after its "started" (an earlier attempt may have failed before any).
            let started = mine.lastIndex { $0.text.contains("обучение запущено для аватара «\(avatar.name)»") }
            if avatar.status.isFinal, let last = (readyAt + failedAt).max(), started == nil || started! > last, avatar.falRequestId != nil {
                found.append(violation("avatar «\(avatar.name)»", "outcome told before \"training started\""))
            }
            let namesakes = Set(avatars.filter { $0.name == avatar.name }.map(\.ownerId))
            let elsewhere = e.messages.filter { !namesakes.contains($0.chatId) && $0.text == ready }
            if !elsewhere.isEmpty { found.append(violation("avatar «\(avatar.name)»", "its outcome went to chat(s) \(elsewhere.map(\.chatId))")) }
        }
        return found
    }
}
