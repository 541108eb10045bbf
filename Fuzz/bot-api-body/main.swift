import Foundation
import SupportKit

/// The mock Telegram's body readers on any bytes, under each content type a client sends: parameters or nothing,
/// never a trap. A JSON body gives exactly its top-level object.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBotAPIBody(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    let json = BotAPIBody.parameters(data, contentType: "application/json")
    precondition(json == ((try? JSONValue.parse(data))?.objectValue ?? [:]), "a JSON body read as \(json)")
    _ = BotAPIBody.parameters(data, contentType: "application/x-www-form-urlencoded")
    _ = BotAPIBody.parameters(data, contentType: "multipart/form-data; boundary=\"xYz\"")
    _ = BotAPIBody.parameters(data, contentType: "multipart/form-data; boundary=")
    return 0
}
