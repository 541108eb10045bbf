import Foundation

/// What the bot says while generating images.
extension Texts {
    /// Ready styles offered as buttons beside a free-text prompt.
    public static let styles: [(label: String, prompt: String)] = [
        ("📸 Студийный портрет", "professional studio portrait, soft light, 85mm, sharp focus"),
        ("🌆 Город ночью", "walking through a neon-lit city at night, cinematic, rain reflections"),
        ("🎨 Масляная живопись", "oil painting portrait in the style of the old masters, rich textures"),
        ("🏔 Путешествие", "standing on a mountain ridge at sunrise, travel photography, wide angle"),
    ]

    public static let noReadyAvatars = "Пока нет готовых аватаров. Создайте аватар и дождитесь окончания обучения."
    public static let chooseAvatar = "С каким аватаром создаём изображение?"

    public static func chooseAvatarButtons(_ avatars: [Avatar]) -> [[Button]] {
        avatars.map { [Button("🖼 \($0.name)", .generateWith($0.id))] }
    }

    public static func askPrompt(_ avatar: Avatar) -> String {
        "Аватар «\(avatar.name)». Опишите, что изобразить (до \(GenerationRules.maxPromptLength) символов), или выберите стиль:"
    }

    public static let styleButtons: [[Button]] = styles.indices.map { [Button(styles[$0].label, .style($0))] }
    public static let askAspect = "Формат изображения:"
    public static let aspectButtons: [[Button]] = [
        [Button("⬛ 1:1", .aspect(.square)), Button("📱 3:4", .aspect(.portrait))],
        [Button("📲 9:16", .aspect(.story)), Button("🖥 16:9", .aspect(.landscape))],
    ]
    public static let askCount = "Сколько изображений?"
    public static let countButtons: [[Button]] = [(1...GenerationRules.maxImages).map { Button("\($0)", .imageCount($0)) }]

    public static func generationSummary(avatar: Avatar, prompt: String, aspect: AspectRatio, count: Int, cost: Int, balance: Int) -> String {
        """
        Проверьте:
        Аватар: \(avatar.name)
        Промпт: \(prompt)
        Формат: \(aspect.rawValue), изображений: \(count)
        Стоимость: \(cost) кредитов (баланс: \(balance))
        """
    }

    public static let generateButtons: [[Button]] = [[Button("🚀 Сгенерировать", .confirmGeneration)], [Button("❌ Отмена", .generate)]]

    public static func generationStarted(count: Int) -> String {
        "🎨 Генерирую \(count == 1 ? "изображение" : "\(count) изображения")… Пришлю, как только будет готово."
    }

    public static func generationCaption(_ prompt: String) -> String { String("🖼 \(prompt)".prefix(1000)) }

    public static func generationDone(delivered: Int, withheld: Int, refund: Int) -> String {
        var text = "✅ Готово: \(delivered) из \(delivered + withheld)."
        if withheld > 0 { text += " \(withheld) скрыто фильтром безопасности, \(refund) кредитов возвращено." }
        return text
    }

    public static func afterGenerationButtons(generation: UUID, avatar: UUID) -> [[Button]] {
        [[Button("🔁 Ещё раз", .again(generation)), Button("✏️ Другой промпт", .generateWith(avatar))], [Button("📂 Мои аватары", .myAvatars)]]
    }

    public static func generationFailed(refund: Int) -> String {
        "❌ Не удалось создать изображения. \(refund) кредитов возвращено, попробуйте ещё раз."
    }

    public static func avatarNotReady(_ status: AvatarStatus) -> String {
        switch status {
        case .training, .readyForTraining, .draft, .uploading: "Аватар ещё не готов: дождитесь окончания обучения."
        case .error: "Обучение этого аватара не удалось: генерировать с ним нельзя. Обучите его заново."
        case .cancelled: "Этот аватар отменён: генерировать с ним нельзя."
        case .completed: "Аватар готов."
        }
    }

    public static let promptEmpty = "Промпт пустой. Опишите, что изобразить."
    public static func promptTooLong(_ length: Int) -> String {
        "Промпт слишком длинный: \(length) символов, можно до \(GenerationRules.maxPromptLength)."
    }
    public static let chooseGallery = "Чьи изображения показать?"
    public static func galleryButtons(_ avatars: [Avatar]) -> [[Button]] {
        avatars.map { [Button("🗂 \($0.name)", .galleryOf($0.id))] }
    }
    public static func galleryEmpty(_ avatar: Avatar) -> String { "С аватаром «\(avatar.name)» изображений пока нет." }
    public static func galleryCaption(_ avatar: Avatar, count: Int) -> String { "🗂 «\(avatar.name)»: последние \(count)" }
    /// How many of an avatar's latest images the gallery shows (one album).
    public static let galleryLimit = 10
    public static let generationRunning = "Предыдущая генерация ещё идёт. Дождитесь её результата."
}
