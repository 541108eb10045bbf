@testable import AishaSystem
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import SupportKit
import Testing

/// `GET /metrics` after a training: the counts are what happened, in Prometheus' text format.
@Suite("Metrics", .serialized)
struct MetricsTests {
    @Test("one portrait training, one duplicate webhook, one unsigned webhook: /metrics counts exactly those")
    func scrape() async throws {
        try await BotHarness.run { bot in
            try await bot.createAvatar(type: "Портретный")
            try await bot.tap("Начать обучение")
            await bot.fal.waitUntilIdle()
            await bot.advance(.seconds(1000))
            #expect(try await eventually { try await bot.avatar()?.status == .completed })
            try await buildApplication(bot.services, backgroundServices: false).test(.router) { client in
                // FAL's webhook again (a duplicate), and one nobody signed.
                let requestId = try #require(try await bot.avatar()?.falRequestId)
                let body = try JSONValue.object(["request_id": .string(requestId), "status": "OK", "payload": [:]]).jsonData()
                let headers = await bot.fal.keyRing.headers(requestId: requestId, userId: "user", timestamp: Int(bot.time.now().timeIntervalSince1970), body: body)
                var fields = HTTPFields()
                for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
                let duplicate = try await client.execute(uri: "/api/v1/avatar/status_update", method: .post, headers: fields, body: ByteBuffer(data: body))
                #expect(duplicate.status == .ok)
                let unsigned = try await client.execute(uri: "/api/v1/avatar/status_update", method: .post, body: ByteBuffer(data: body))
                #expect(unsigned.status == .unauthorized)
                let response = try await client.execute(uri: "/metrics", method: .get)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(buffer: response.body)
                let samples = Self.samples(text)
                let trainer = #"trainer="fal-ai/flux-lora-portrait-trainer""#
                #expect(samples["aisha_trainings_started_total{\(trainer),type=\"portrait\"}"] == 1, "\(text)")
                #expect(samples["aisha_trainings_finished_total{\(trainer),type=\"portrait\",status=\"completed\"}"] == 1, "\(text)")
                #expect(samples[#"aisha_webhooks_total{outcome="applied"}"#] == 1)
                #expect(samples[#"aisha_webhooks_total{outcome="duplicate"}"#] == 1)
                #expect(samples[#"aisha_webhooks_total{outcome="refused_unsigned"}"#] == 1)
                #expect(samples["aisha_fal_submit_duration_seconds_count"] == 1)
                #expect(samples["aisha_credits_charged"] == 150)
                #expect(samples["aisha_credits_refunded"] == 0)
                #expect(samples["aisha_outbox_pending"] == 0)
                let sent = await bot.telegram.messages(to: 1001).count
                #expect(samples[#"aisha_telegram_calls_total{method="sendMessage",result="ok"}"#].map(Int.init) == sent, "\(text)")
                // Bounded labels: no user or request id anywhere.
                #expect(!text.contains(requestId) && !text.contains("1001"))
            }
        }
    }

    /// `name{labels} value` lines, labels in the order they were given.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }
}
