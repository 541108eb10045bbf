import Foundation

/// The Bot API objects AishaSystem reads (DESIGN §6), decoded with snake_case keys.
public struct TelegramUpdate: Sendable, Codable, Hashable {
    public var updateId: Int64
    public var message: TelegramMessage?
    public var callbackQuery: TelegramCallbackQuery?

    public init(updateId: Int64, message: TelegramMessage? = nil, callbackQuery: TelegramCallbackQuery? = nil) {
        self.updateId = updateId
        self.message = message
        self.callbackQuery = callbackQuery
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

public struct TelegramChat: Sendable, Codable, Hashable {
    public var id: Int64
    public var type: String?

    public init(id: Int64, type: String? = "private") {
        self.id = id
        self.type = type
    }
}

public struct TelegramUser: Sendable, Codable, Hashable {
    public var id: Int64
    public var isBot: Bool?
    public var firstName: String
    public var languageCode: String?

    public init(id: Int64, isBot: Bool? = false, firstName: String, languageCode: String? = nil) {
        self.id = id
        self.isBot = isBot
        self.firstName = firstName
        self.languageCode = languageCode
    }
}

public struct TelegramPhotoSize: Sendable, Codable, Hashable {
    public var fileId: String
    public var fileUniqueId: String?
    public var width: Int
    public var height: Int
    public var fileSize: Int?

    public init(fileId: String, fileUniqueId: String? = nil, width: Int, height: Int, fileSize: Int? = nil) {
        self.fileId = fileId
        self.fileUniqueId = fileUniqueId
        self.width = width
        self.height = height
        self.fileSize = fileSize
    }
}

public struct TelegramDocument: Sendable, Codable, Hashable {
    public var fileId: String
    public var fileName: String?
    public var mimeType: String?
    public var fileSize: Int?

    public init(fileId: String, fileName: String? = nil, mimeType: String? = nil, fileSize: Int? = nil) {
        self.fileId = fileId
        self.fileName = fileName
        self.mimeType = mimeType
        self.fileSize = fileSize
    }
}

public struct TelegramMessage: Sendable, Codable, Hashable {
    public var messageId: Int64
    public var date: Int
    public var chat: TelegramChat
    public var from: TelegramUser?
    public var text: String?
    public var photo: [TelegramPhotoSize]?
    public var document: TelegramDocument?
    public var caption: String?
    public var mediaGroupId: String?

    public init(
        messageId: Int64, date: Int, chat: TelegramChat, from: TelegramUser?, text: String? = nil, photo: [TelegramPhotoSize]? = nil,
        document: TelegramDocument? = nil, caption: String? = nil, mediaGroupId: String? = nil
    ) {
        self.messageId = messageId
        self.date = date
        self.chat = chat
        self.from = from
        self.text = text
        self.photo = photo
        self.document = document
        self.caption = caption
        self.mediaGroupId = mediaGroupId
    }
}

public struct TelegramCallbackQuery: Sendable, Codable, Hashable {
    public var id: String
    public var from: TelegramUser
    public var message: TelegramMessage?
    public var chatInstance: String?
    public var data: String?

    public init(id: String, from: TelegramUser, message: TelegramMessage?, chatInstance: String? = nil, data: String?) {
        self.id = id
        self.from = from
        self.message = message
        self.chatInstance = chatInstance
        self.data = data
    }
}

/// `getFile`'s answer.
public struct TelegramFile: Sendable, Codable, Hashable {
    public var fileId: String
    public var fileSize: Int?
    public var filePath: String?
}
