@testable import AishaSystem
import Foundation
import SupportKit
import Testing

/// moto's S3-compatible server from PyPI: the one `.ci/run` started (`AISHA_TEST_S3_ENDPOINT`), or else one
/// started for the test on a free loopback port.
final class MotoServer: Sendable {
    let process: Process?
    let endpoint: String
    static let shared = ProcessInfo.processInfo.environment["AISHA_TEST_S3_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }

    static var available: Bool {
        if shared != nil { return true }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import moto.server"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    /// `own`: start a server even when `.ci/run` shares one.
    init(own: Bool = false) async throws {
        if !own, let shared = Self.shared {
            endpoint = shared
            process = nil
            return
        }
        let port = LoopbackPort.free()
        let process = Process()
        self.process = process
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        endpoint = "http://127.0.0.1:\(port)"
        let transport = AsyncHTTPClientTransport()
        let url = endpoint + "/moto-api/"
        let ready = await eventually(timeout: .seconds(30)) { (try? await transport.send(OutgoingRequest(url: url, timeout: .seconds(1))))?.status == 200 }
        guard ready else {
            Self.stop(process)
            throw HarnessError("moto did not start on port \(port)")
        }
    }

    func stop() { process.map(Self.stop) }

    /// SIGTERM, then SIGKILL after a grace period: moto ignores SIGTERM.
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A bucket name of its own, so tests sharing a server never see each other's objects.
    static func bucket(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }
}

@Suite("S3-compatible object store against moto's server", .enabled(if: MotoServer.available, "needs python3 with moto[server] (pip install 'moto[server]')"))
struct S3ObjectStoreTests {
    @Test("a moto server a test starts is gone when it is stopped (moto ignores SIGTERM: it is killed after a grace period)")
    func stopLeavesNothing() async throws {
        let moto = try await MotoServer(own: true)
        let pid = try #require(moto.process?.processIdentifier)
        moto.stop()
        #expect(kill(pid, 0) == -1, "moto (pid \(pid)) still runs")
    }

    @Test("put, get, exists, delete, bucket creation, presigned GET (moto does not check signatures; see the vector test)")
    func roundTrip() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let time = TimeSource.live
        let store = S3ObjectStore(endpoint: moto.endpoint, bucket: MotoServer.bucket("aisha-test"), accessKey: "test", secretKey: "test", time: time)
        try await store.createBucketIfMissing()
        try await store.createBucketIfMissing()
        let data = PNGEncoder.bilevel(width: 64, height: 64, seed: 3)
        try await store.put(data, key: "photos/a1/x-y_z.1.png")
        #expect(try await store.get(key: "photos/a1/x-y_z.1.png") == data)
        #expect(try await store.exists(key: "photos/a1/x-y_z.1.png"))
        #expect(try await !store.exists(key: "photos/a1/missing.png"))
        await #expect(throws: ObjectStoreError.notFound("photos/a1/missing.png")) { try await store.get(key: "photos/a1/missing.png") }
        await #expect(throws: ObjectStoreError.self) { try await store.put(data, key: "../escape") }

        let url = try #require(try store.downloadURL(key: "photos/a1/x-y_z.1.png", expires: time.now().addingTimeInterval(60)))
        let fetched = try await AsyncHTTPClientTransport().send(OutgoingRequest(url: url))
        #expect(fetched.status == 200)
        #expect(fetched.body == data)
        try await store.delete(key: "photos/a1/x-y_z.1.png")
        #expect(try await !store.exists(key: "photos/a1/x-y_z.1.png"))
    }
}

@Suite("Training with photos and archives in an S3 bucket", .enabled(if: MotoServer.available, "needs python3 with moto[server]"))
struct S3TrainingTests {
    @Test("photos go to the bucket and FAL (MockFAL) downloads the archive straight from it with a presigned URL")
    func archiveFromBucket() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let bucket = MotoServer.bucket("aisha")
        let store = S3ObjectStore(endpoint: moto.endpoint, bucket: bucket, accessKey: "test", secretKey: "test")
        try await store.createBucketIfMissing()
        try await BotHarness.run(objects: store) { bot in
            try await bot.createAvatar(type: "Художественный")
            try await bot.tap("Начать обучение")
            let submit = try #require(await bot.fal.journalEntries().first { $0.kind == .submit })
            let dataURL = try #require(submit.input?["data_url"]?.stringValue)
            #expect(dataURL.hasPrefix("\(moto.endpoint)/\(bucket)/archives/"))
            #expect(dataURL.contains("X-Amz-Signature="))
            await bot.fal.waitUntilIdle()
            #expect(await bot.fal.snapshots().first?.imageCount == 12)
            await bot.advance(.seconds(500))
            #expect(try await eventually { try await bot.avatar()?.status == .completed })
        }
    }
}

@Suite("SigV4")
struct SigV4Tests {
    @Test("the presigned GET example of AWS's SigV4 documentation")
    func awsExample() {
        let query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"),
            ("X-Amz-Date", "20130524T000000Z"), ("X-Amz-Expires", "86400"), ("X-Amz-SignedHeaders", "host"),
        ]
        let signature = S3ObjectStore.signature(
            method: "GET", path: "/test.txt", query: query, headers: [("host", "examplebucket.s3.amazonaws.com")],
            payloadHash: "UNSIGNED-PAYLOAD", amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request",
            secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", day: "20130524", region: "us-east-1")
        #expect(signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }
}
