import Foundation

/// Every text the bot sends, in one catalogue (Russian by default).
public enum Texts {
    public static func welcome(name: String, balance: Int) -> String {
        "Привет, \(name)! Я Aisha — создам ваш персональный аватар для генерации изображений.\nБаланс: \(balance) кредитов."
    }

    public static let mainMenuButtons: [[Button]] = [
        [Button("✨ Создать аватар", .createAvatar)],
        [Button("🖼 Создать изображение", .generate)],
        [Button("📂 Мои аватары", .myAvatars), Button("🗂 Галерея", .gallery)],
    ]

    public static let askName = "Как назовём аватар? Напишите имя (от 1 до 40 символов)."
    public static func nameRejected(_ why: String) -> String { "Имя не подходит: \(why). Попробуйте ещё раз." }
    public static let nameEmpty = "имя пустое"
    public static let nameTooLong = "длиннее 40 символов"
    public static let nameControl = "в нём есть управляющие символы"

    public static func askGender(name: String) -> String { "Аватар «\(name)». Выберите пол:" }
    public static let genderButtons: [[Button]] = [[Button("👨 Мужской", .gender(.male)), Button("👩 Женский", .gender(.female))]]

    public static let askType = """
        Выберите тип обучения:
        🎭 Портретный — точное сходство лица, для фотореалистичных портретов.
        🎨 Художественный — ваш стиль и образ для творческих, художественных изображений.
        """
    public static let typeButtons: [[Button]] = [[Button("🎭 Портретный", .type(.portrait)), Button("🎨 Художественный", .type(.style))]]

    public static func askPhotos(name: String, type: TrainingType) -> String {
        "Аватар «\(name)» создан (\(typeLabel(type))). Пришлите от \(TrainingRules.minPhotos) до \(TrainingRules.maxPhotos) фото: "
            + "JPEG, PNG или WebP, не меньше \(TrainingRules.minShortSide) px по короткой стороне, до 20 МБ."
    }

    /// The one progress message of a photo upload: the count, what was refused, and "Готово" once there are enough.
    public static func photoProgress(count: Int, refused: [String], avatarId: UUID) -> (String, [[Button]]) {
        let (minimum, maximum) = (TrainingRules.minPhotos, TrainingRules.maxPhotos)
        var lines = ["📥 Принято \(count) из \(minimum)–\(maximum) фото."]
        if count < minimum {
            lines.append("Нужно ещё минимум \(minimum - count).")
        } else if count < maximum {
            lines.append("Можно добавить ещё или нажать «Готово».")
        } else {
            lines.append("Это максимум: нажмите «Готово».")
        }
        if !refused.isEmpty { lines.append("\nНе принято (загруженные фото сохранены):\n" + refused.map { "❌ \($0)" }.joined(separator: "\n")) }
        return (lines.joined(separator: "\n"), count >= minimum ? [[Button("✅ Готово", .photosDone(avatarId))]] : [])
    }

    public static func photoRejected(_ why: String) -> String { "❌ Фото не принято: \(why). Уже загруженные фото сохранены." }
    public static let photoNotImage = "это не изображение JPEG, PNG или WebP"
    public static let photoEmpty = "файл пустой"
    public static let photoTooBig = "файл больше 20 МБ"
    public static func photoTooSmall(_ side: Int) -> String { "слишком маленькое (\(side) px, нужно от \(TrainingRules.minShortSide) px)" }
    public static let photoTooManyPixels = "слишком большое разрешение"
    public static let photoDuplicate = "такое фото уже загружено"
    public static let photoLimit = "уже загружено \(TrainingRules.maxPhotos) фото — это максимум"
    public static let photoDownloadFailed = "не удалось скачать файл из Telegram, пришлите его ещё раз"
    public static let expectingPhotos = "Сейчас я жду фото для аватара. Пришлите фото или нажмите «Готово», когда их будет не меньше 10."
    public static let notExpectingPhotos = "Сейчас я не жду фото. Чтобы создать аватар, откройте меню: /start"
    public static let unknownText = "Не понимаю. Откройте меню: /start"

    public static func summary(avatar: Avatar, photos: Int, cost: Int, balance: Int) -> String {
        """
        Проверьте аватар:
        Имя: \(avatar.name)
        Пол: \(avatar.gender == .male ? "мужской" : "женский")
        Тип: \(avatar.trainingType.map(typeLabel) ?? "не выбран")
        Фото: \(photos)
        Стоимость: \(cost) кредитов (баланс: \(balance))
        """
    }

    public static func confirmButtons(_ id: UUID) -> [[Button]] {
        [[Button("🚀 Начать обучение", .startTraining(id))], [Button("❌ Отменить", .cancel(id))]]
    }

    public static func trainingStarted(avatar: Avatar, type: TrainingType) -> String {
        (type == .style ? "🎨 Художественное обучение запущено" : "🎭 Портретное обучение запущено")
            + " для аватара «\(avatar.name)». Я напишу, когда аватар будет готов."
    }

    /// "Training started", queued when FAL's request id is stored — before any outcome of that attempt can be.
    public static func startedNotice(_ avatar: Avatar, type: TrainingType, attempt: Int) -> NotificationDraft {
        NotificationDraft(
            chatId: avatar.ownerId, text: trainingStarted(avatar: avatar, type: type), buttons: [[Button("❌ Отменить обучение", .askCancel(avatar.id))]],
            dedupeKey: startedKey(avatar.id, attempt: attempt))
    }

    /// The outbox key of an attempt's "training started" (its cancel button is retired when the attempt ends).
    public static func startedKey(_ avatar: UUID, attempt: Int) -> String { "started:\(avatar.uuidString.lowercased()):\(attempt)" }

    public static func ready(_ avatar: Avatar) -> String {
        "🎉 Аватар «\(avatar.name)» готов! Теперь можно генерировать изображения."
    }

    public static func failed(_ avatar: Avatar, charged: Bool) -> String {
        "😔 Обучение аватара «\(avatar.name)» не удалось: \(avatar.errorText ?? "неизвестная ошибка")."
            + (charged ? " Кредиты возвращены." : "") + " Можно попробовать ещё раз."
    }

    public static func retryButtons(_ id: UUID) -> [[Button]] {
        [[Button("🔁 Обучить заново", .retrain(id))]]
    }

    public static func insufficientCredits(balance: Int, cost: Int) -> String {
        "Недостаточно кредитов: нужно \(cost), на балансе \(balance). Пополните баланс и попробуйте снова."
    }

    public static let noArchive = "Не удалось подготовить архив с фотографиями, обучение не запущено. Кредиты не списаны."
    public static func falRejected(_ detail: String) -> String { "FAL отклонил запрос на обучение: \(detail). Кредиты возвращены." }
    public static let falUnavailable = "Сервис обучения сейчас недоступен. Кредиты возвращены, попробуйте позже."
    public static let alreadyTraining = "Обучение этого аватара уже запущено."
    public static let submitUnconfirmed =
        "⏳ Сервис обучения не ответил вовремя. Если обучение началось, я напишу, когда аватар будет готов; если нет — верну кредиты."
    public static let notYourAvatar = "Этот аватар вам не принадлежит."
    public static let avatarNotFound = "Аватар не найден."
    public static let staleButton = "Эта кнопка устарела. Откройте меню: /start"
    public static func notEnoughPhotos(_ have: Int) -> String { "Загружено \(have) фото, нужно не меньше \(TrainingRules.minPhotos)." }
    public static let cancelled = "Аватар отменён."
    public static func askCancel(_ avatar: Avatar, refund: Int) -> (String, [[Button]]) {
        (
            "Отменить обучение аватара «\(avatar.name)»? Списанные \(refund) кредитов вернутся на баланс.",
            [[Button("✅ Да, отменить", .cancel(avatar.id)), Button("↩️ Нет, продолжить", .keepTraining(avatar.id))]]
        )
    }
    public static let trainingGoesOn = "Обучение продолжается"
    public static func cancelledRefunded(_ refund: Int) -> String { "Обучение отменено, \(refund) кредитов возвращены на баланс." }
    public static func cancelTooLate(_ avatar: Avatar) -> String {
        "Обучение аватара «\(avatar.name)» уже завершилось, отменить его нельзя. Результат придёт в ближайшее время."
    }
    public static let noAvatars = "У вас пока нет аватаров."

    public static func avatarList(_ avatars: [Avatar]) -> String {
        "Ваши аватары:\n" + avatars.map { "• \($0.name) — \($0.trainingType.map(typeLabel) ?? "?"), \(statusLabel($0.status))" }.joined(separator: "\n")
    }

    /// "Мои аватары": a cancel button for each training, then the menu.
    public static func avatarListButtons(_ avatars: [Avatar]) -> [[Button]] {
        avatars.filter { $0.status == .training }.map { [Button("❌ Отменить «\($0.name)»", .askCancel($0.id))] } + mainMenuButtons
    }

    public static func typeLabel(_ type: TrainingType) -> String { type == .style ? "🎨 Художественный" : "🎭 Портретный" }

    public static func statusLabel(_ status: AvatarStatus) -> String {
        switch status {
        case .draft: "черновик"
        case .uploading: "загрузка фото"
        case .readyForTraining: "готов к обучению"
        case .training: "обучается"
        case .completed: "готов"
        case .error: "ошибка"
        case .cancelled: "отменён"
        }
    }
}
