import Foundation
import SupportKit
import Synchronization

/// The one message that shows a photo upload's progress: sent with the first photo, then edited as photos arrive
/// (the count, what was refused and why, "Готово" once there are enough), so an album of 15 is one reply, not 15.
/// What it shows is kept in the conversation state and changed by compare-and-set, so updates handled at once
/// (an album's photos, several instances) edit it only when it changes, and the last word is the latest state; a
/// progress message sent by the loser of a race is deleted.
struct PhotoProgress: Sendable {
    let store: any AvatarStore
    let telegram: TelegramClient
    let time: TimeSource
    let shown: ShownProgress

    /// Shows the avatar's photo count, adding `refusal` to what the message lists as refused.
    func show(chat: Int64, userId: Int64, avatarId: UUID, refusal: String?) async throws {
        for _ in 0..<8 {
            let state = try await store.conversation(userId: userId)
            guard state.step == .uploadingPhotos, state.avatarId == avatarId else { return }
            var next = state
            if let refusal { next.refusedPhotos = Array(((state.refusedPhotos ?? []) + [refusal]).suffix(6)) }
            next.progressCount = try await store.photos(avatarId: avatarId).count
            guard next != state else { return }  // it shows this already
            let (text, buttons) = Self.rendering(next, avatarId: avatarId)
            if let id = state.progressMessageId {
                guard try await store.advanceConversation(userId: userId, from: state, to: next, now: time.now()) else { continue }  // look again
                return try await edit(chat: chat, id: id, userId: userId, to: next, avatarId: avatarId)
            }
            let id = try await telegram.sendMessage(chatId: chat, text: text, buttons: buttons)
            next.progressMessageId = id
            shown.sent(id, text)
            if try await store.advanceConversation(userId: userId, from: state, to: next, now: time.now()) { return }
            try? await telegram.deleteMessage(chatId: chat, messageId: id)
        }
    }

    /// Something else was said below the progress message: its keyboard goes, and the next photo starts a new one.
    func close(chat: Int64, userId: Int64) async throws {
        var state = try await store.conversation(userId: userId)
        guard let id = state.progressMessageId else { return }
        if (state.progressCount ?? 0) >= TrainingRules.minPhotos { try? await telegram.removeButtons(chatId: chat, messageId: id) }
        shown.forget(id)
        state.progressMessageId = nil
        state.refusedPhotos = nil
        state.progressCount = nil
        try await store.saveConversation(userId: userId, state, now: time.now())
    }

    /// Brings the message to the latest stored state. One edit per message is in flight in this instance at a time:
    /// a photo that comes meanwhile leaves its state to the edit in flight, which sends the latest once it is done. So
    /// edits that waited out a flood wait together cannot land out of order, and an edit that would not change the
    /// message is not sent.
    private func edit(chat: Int64, id: Int64, userId: Int64, to state: ConversationState, avatarId: UUID) async throws {
        guard shown.beginEditing(id) else { return }
        var target = state
        do {
            repeat {
                let (text, buttons) = Self.rendering(target, avatarId: avatarId)
                if shown.text(id) != text {
                    try await telegram.editMessage(chatId: chat, messageId: id, text: text, buttons: buttons)
                    shown.sent(id, text)
                }
                let latest = try await store.conversation(userId: userId)
                guard latest.progressMessageId == id else { return shown.forget(id) }  // closed meanwhile
                target = latest
            } while shown.editAgain(id, showing: Self.rendering(target, avatarId: avatarId).0)
        } catch {
            shown.forget(id)
            throw error
        }
    }

    static func rendering(_ state: ConversationState, avatarId: UUID) -> (String, [[Button]]) {
        Texts.photoProgress(count: state.progressCount ?? 0, refused: state.refusedPhotos ?? [], avatarId: avatarId)
    }
}

/// What each progress message was last sent as by this instance, and whether an edit of it is in flight (and was
/// asked for again meanwhile).
final class ShownProgress: Sendable {
    private struct Entry {
        var text: String?
        var editing = false
        var asked = false
    }

    private let entries = Mutex<[Int64: Entry]>([:])

    /// What the message shows, as far as this instance knows.
    func text(_ id: Int64) -> String? { entries.withLock { $0[id]?.text } }

    /// `text` has just gone out.
    func sent(_ id: Int64, _ text: String) { entries.withLock { $0[id, default: Entry()].text = text } }

    /// True when the caller now edits the message; false when an edit is in flight, which is asked to look again.
    func beginEditing(_ id: Int64) -> Bool {
        entries.withLock { entries in
            guard entries[id]?.editing != true else {
                entries[id]?.asked = true
                return false
            }
            entries[id, default: Entry()].editing = true
            return true
        }
    }

    /// After an edit: true when the message should be edited again — the latest state reads differently from what was
    /// sent, or another photo asked meanwhile (its state is stored: the next look sees it); else the edit is over, in
    /// the same step, so a photo that asks from now on edits itself.
    func editAgain(_ id: Int64, showing latest: String) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[id] else { return false }
            defer { entries[id] = entry }
            let again = entry.text != latest || entry.asked
            entry.asked = false
            entry.editing = again
            return again
        }
    }

    func forget(_ id: Int64) { _ = entries.withLock { $0.removeValue(forKey: id) } }
}
