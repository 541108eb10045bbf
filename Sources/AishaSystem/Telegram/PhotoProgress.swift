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
                try await edit(chat: chat, id: id, to: next, avatarId: avatarId)
                // A newer state's edit may have gone out before this one (both waited out a flood wait): the message
                // ends showing the latest.
                let latest = try await store.conversation(userId: userId)
                if latest.progressMessageId == id, latest != next { try await edit(chat: chat, id: id, to: latest, avatarId: avatarId) }
                return
            }
            let id = try await telegram.sendMessage(chatId: chat, text: text, buttons: buttons)
            next.progressMessageId = id
            _ = shown.claim(id, text)
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

    /// Edits the message to show `state`, unless this instance has just sent it exactly that.
    private func edit(chat: Int64, id: Int64, to state: ConversationState, avatarId: UUID) async throws {
        let (text, buttons) = Self.rendering(state, avatarId: avatarId)
        guard shown.claim(id, text) else { return }
        do {
            try await telegram.editMessage(chatId: chat, messageId: id, text: text, buttons: buttons)
        } catch {
            shown.forget(id)
            throw error
        }
    }

    static func rendering(_ state: ConversationState, avatarId: UUID) -> (String, [[Button]]) {
        Texts.photoProgress(count: state.progressCount ?? 0, refused: state.refusedPhotos ?? [], avatarId: avatarId)
    }
}

/// What each progress message was last sent as by this instance: an edit that would not change it is not sent (after
/// a flood wait, the updates that waited would otherwise all send the same latest text).
final class ShownProgress: Sendable {
    private let texts = Mutex<[Int64: String]>([:])

    /// True when `text` is new for the message; it is recorded as shown.
    func claim(_ id: Int64, _ text: String) -> Bool {
        texts.withLock { shown in
            guard shown[id] != text else { return false }
            shown[id] = text
            return true
        }
    }

    func forget(_ id: Int64) { _ = texts.withLock { $0.removeValue(forKey: id) } }
}
