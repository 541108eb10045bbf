import Foundation
import Hummingbird
import Logging
@testable import MockFAL
@testable import ScenarioRunner
import Synchronization
import SupportKit

/// A FAL stand-in on real time with millisecond steps (what `--fal real` tests train on), a receiver that serves a
/// photo archive and records the webhooks it gets, and a MockFAL proxy in front of the stand-in. All on loopback;
/// `stop()` ends every server.
final class StagingRig: Sendable {
    let standIn: FALQueue
    let queue: FALQueue
    let proxy: FALProxy
    let standInServer: RunningServer
    let proxyServer: RunningServer
    let receiverServer: RunningServer
    let received = Inbox()

    var proxyURL: String { "http://127.0.0.1:\(proxyServer.port)" }
    var archiveURL: String { "http://127.0.0.1:\(receiverServer.port)/photos.zip" }
    var hookURL: String { "http://127.0.0.1:\(receiverServer.port)/hook?training_type=style" }

    init(stepDuration: Duration = .milliseconds(1), configure: (inout UpstreamConfiguration) -> Void = { _ in }) async throws {
        let quiet = Logger.quiet("staging-rig")
        var standInConfiguration = MockFALConfiguration(contracts: try .bundled(), time: .live)
        standInConfiguration.port = 0
        standInConfiguration.stepDuration = stepDuration
        standInConfiguration.webhookRetryBase = .milliseconds(20)
        standInConfiguration.seed = 77
        let standIn = FALQueue(configuration: standInConfiguration, logger: quiet)
        standInServer = try await RunningServer.start(logger: quiet) { running in
            MockFAL.buildApplication(standInConfiguration, queue: standIn, logger: quiet, onServerRunning: running)
        }
        self.standIn = standIn
        let zip = try PhotoArchive.zip(count: 12)
        let received = self.received
        receiverServer = try await RunningServer.start(logger: quiet) { running in
            let router = Router()
            router.get("photos.zip") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: zip))) }
            router.post("hook") { request, _ in
                let body = try await request.body.collect(upTo: 1 << 20)
                received.withLock { $0.append((request.headers.map { ($0.name.canonicalName, $0.value) }, Data(body.readableBytesView))) }
                return Response(status: .ok)
            }
            return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: running, logger: quiet)
        }
        let proxyPort = LoopbackPort.free()
        var configuration = MockFALConfiguration(contracts: try .bundled(), time: .live)
        configuration.port = proxyPort
        configuration.webhookRetryBase = .milliseconds(20)
        var upstream = UpstreamConfiguration(
            baseURL: "http://127.0.0.1:\(standInServer.port)", key: "standin-key",
            jwksURL: "http://127.0.0.1:\(standInServer.port)/.well-known/jwks.json", publicURL: "http://127.0.0.1:\(proxyPort)")
        configure(&upstream)
        queue = FALQueue(configuration: configuration, logger: quiet)
        let proxy = FALProxy(queue: queue, upstream: upstream, logger: quiet)
        self.proxy = proxy
        let queue = self.queue
        proxyServer = try await RunningServer.start(logger: quiet) { running in
            MockFAL.buildApplication(configuration, queue: queue, proxy: proxy, logger: quiet, onServerRunning: running)
        }
    }

    func stop() async {
        await proxyServer.stop()
        await receiverServer.stop()
        await standInServer.stop()
        await standIn.reset()
    }

    /// A call to the proxy as a FAL client makes it.
    func call(_ method: String, _ path: String, body: JSONValue? = nil) async throws -> IncomingResponse {
        try await AsyncHTTPClientTransport().send(
            OutgoingRequest(
                method: method, url: proxyURL + path, headers: [("Authorization", "Key client-key"), ("Content-Type", "application/json")],
                body: try body?.jsonData()))
    }

    func submitStyle(_ extra: [String: JSONValue] = [:], webhook: Bool = true) async throws -> IncomingResponse {
        var input: [String: JSONValue] = [
            "data_url": .string(archiveURL), "finetune_comment": "rig", "mode": "style", "iterations": 100, "trigger_word": "TOK_rig",
        ]
        input.merge(extra) { $1 }
        let query = webhook ? "?fal_webhook=" + FALProxy.percentEncoded(hookURL) : ""
        return try await call("POST", "/fal-ai/flux-pro-trainer\(query)", body: .object(input))
    }
}

/// What the receiver got: each delivery's headers and body.
final class Inbox: Sendable {
    private let deliveries = Mutex<[(headers: [(String, String)], body: Data)]>([])

    func withLock<T>(_ body: (inout [(headers: [(String, String)], body: Data)]) -> T) -> T { deliveries.withLock { body(&$0) } }
}

extension IncomingResponse {
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
}
