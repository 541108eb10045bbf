import Foundation

/// The generation conversation: avatar → prompt (text or a ready style) → shape → number of images → cost → generate.
extension ConversationHandler {
    func handleGeneration(_ action: CallbackAction, chat: Int64, user: User, state: ConversationState) async throws {
        switch action {
        case .generate:
            try await chooseReadyAvatar(chat: chat, user: user, text: Texts.chooseAvatar, buttons: Texts.chooseAvatarButtons)
        case .generateWith(let id):
            let avatar = try await ownedAvatar(id, user: user.id)
            guard avatar.status == .completed else { throw AishaError.avatarNotReady(avatar.status) }
            try await claim(user.id, from: state, to: ConversationState(step: .awaitingPrompt, avatarId: avatar.id))
            try await telegram.sendMessage(chatId: chat, text: Texts.askPrompt(avatar), buttons: Texts.styleButtons)
        case .style(let index):
            guard state.step == .awaitingPrompt, Texts.styles.indices.contains(index) else { throw AishaError.staleButton }
            try await promptReceived(Texts.styles[index].prompt, chat: chat, user: user, state: state)
        case .aspect(let aspect):
            guard state.step == .awaitingAspect else { throw AishaError.staleButton }
            var next = state
            next.aspect = aspect
            next.step = .awaitingCount
            try await claim(user.id, from: state, to: next)
            try await telegram.sendMessage(chatId: chat, text: Texts.askCount, buttons: Texts.countButtons)
        case .imageCount(let count):
            guard state.step == .awaitingCount, (1...GenerationRules.maxImages).contains(count), let id = state.avatarId, let prompt = state.prompt,
                let aspect = state.aspect
            else { throw AishaError.staleButton }
            let avatar = try await ownedAvatar(id, user: user.id)
            var next = state
            next.imageCount = count
            next.step = .confirmingGeneration
            try await claim(user.id, from: state, to: next)
            let balance = try await store.user(id: user.id)?.balance ?? 0
            try await telegram.sendMessage(
                chatId: chat,
                text: Texts.generationSummary(avatar: avatar, prompt: prompt, aspect: aspect, count: count, cost: count * generation.settings.unitCost, balance: balance),
                buttons: Texts.generateButtons)
        case .confirmGeneration:
            guard state.step == .confirmingGeneration, let id = state.avatarId, let prompt = state.prompt, let aspect = state.aspect,
                let count = state.imageCount
            else { throw AishaError.staleButton }
            // The step is claimed first: a double tap finds it taken and pays nothing (one running generation per user
            // is also kept by the store).
            guard try await store.advanceConversation(userId: user.id, from: state, to: ConversationState(), now: time.now()) else { throw AishaError.staleButton }
            try await generation.start(ownerId: user.id, avatarId: id, prompt: prompt, aspect: aspect, count: count)
        case .again(let id):
            guard let previous = try await store.generation(id: id), previous.ownerId == user.id else { throw AishaError.staleButton }
            try await generation.start(ownerId: user.id, avatarId: previous.avatarId, prompt: previous.prompt, aspect: previous.aspect, count: previous.count)
        case .gallery:
            try await chooseReadyAvatar(chat: chat, user: user, text: Texts.chooseGallery, buttons: Texts.galleryButtons)
        case .galleryOf(let id):
            let avatar = try await ownedAvatar(id, user: user.id)
            try await showGallery(avatar, chat: chat)
        case .createAvatar, .myAvatars, .gender, .type, .photosDone, .retrain, .startTraining, .cancel, .askCancel, .keepTraining:
            throw AishaError.staleButton
        }
    }

    /// Lists the user's completed avatars to choose one (to generate with, or to see its gallery), or says there is none.
    private func chooseReadyAvatar(chat: Int64, user: User, text: String, buttons: ([Avatar]) -> [[Button]]) async throws {
        let ready = try await store.avatars(ownerId: user.id).filter { $0.status == .completed }
        guard !ready.isEmpty else {
            try await telegram.sendMessage(chatId: chat, text: Texts.noReadyAvatars, buttons: Texts.mainMenuButtons)
            return
        }
        try await telegram.sendMessage(chatId: chat, text: text, buttons: buttons(ready))
    }

    /// An avatar's latest images, from the object store (FAL's URLs expire).
    func showGallery(_ avatar: Avatar, chat: Int64) async throws {
        var keys: [String] = []
        for generation in try await store.generations(ownerId: avatar.ownerId) where generation.avatarId == avatar.id && keys.count < Texts.galleryLimit {
            keys += try await store.generatedImages(generationId: generation.id).map(\.objectKey)
        }
        keys = Array(keys.prefix(Texts.galleryLimit))
        guard !keys.isEmpty else {
            try await telegram.sendMessage(chatId: chat, text: Texts.galleryEmpty(avatar), buttons: [[Button("🖼 Создать изображение", .generateWith(avatar.id))]])
            return
        }
        var photos: [Data] = []
        for key in keys { photos.append(try await generation.objects.get(key: key)) }
        try await telegram.sendPhotos(chatId: chat, photos: photos, caption: Texts.galleryCaption(avatar, count: photos.count))
    }

    /// A prompt typed (or a style picked) while one is awaited: checked, then the shape is asked.
    func promptReceived(_ text: String, chat: Int64, user: User, state: ConversationState) async throws {
        var next = state
        do {
            next.prompt = try GenerationService.validate(text)
        } catch let error as AishaError {
            return try await reply(chat, Self.message(for: error))
        }
        next.step = .awaitingAspect
        try await claim(user.id, from: state, to: next)
        try await telegram.sendMessage(chatId: chat, text: Texts.askAspect, buttons: Texts.aspectButtons)
    }
}
