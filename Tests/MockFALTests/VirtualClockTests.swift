import Foundation
import SupportKit
import Testing

/// Virtual time: the clock moves deadline by deadline and waits for the work each wake-up starts.
@Suite("Virtual clock")
struct VirtualClockTests {
    /// Records what happened, in order.
    actor Log {
        var lines: [String] = []
        func add(_ line: String) { lines.append(line) }
    }

    /// Work that takes real time but never sleeps on the clock (a database write, an HTTP call).
    static func realWork(_ hops: Int) async {
        for _ in 0..<hops { await Task.yield() }
    }

    @Test("a long piece of work woken at 10 s ends before the sleeper due at 11 s wakes")
    func wakeOrder() async throws {
        let time = TimeSource.virtual(start: Date(timeIntervalSince1970: 0))
        let log = Log()
        let slow = time.task {
            try? await time.sleep(for: .seconds(10))
            await Self.realWork(300)
            await log.add("slow work done at \(Int(time.now().timeIntervalSince1970))")
        }
        let next = time.task {
            try? await time.sleep(for: .seconds(11))
            await log.add("next woke at \(Int(time.now().timeIntervalSince1970))")
        }
        await time.advance(by: .seconds(20))
        await slow.value
        await next.value
        let lines = await log.lines
        #expect(lines == ["slow work done at 10", "next woke at 11"])
    }

    @Test("a loop's work between its sleeps runs at each tick's time; idle ticks cost no real time")
    func loop() async throws {
        let time = TimeSource.virtual(start: Date(timeIntervalSince1970: 0))
        let log = Log()
        let loop = time.task {
            for _ in 0..<3 {
                try? await time.sleep(for: .seconds(60))
                let woke = Int(time.now().timeIntervalSince1970)
                await Self.realWork(200)
                await log.add("tick \(woke) done at \(Int(time.now().timeIntervalSince1970))")
            }
        }
        await time.advance(by: .seconds(180))
        loop.cancel()
        await loop.value
        let lines = await log.lines
        #expect(lines == ["tick 60 done at 60", "tick 120 done at 120", "tick 180 done at 180"])
    }

    @Test("work handed to another task (hold) keeps the clock until that task has taken it up")
    func handOver() async throws {
        let time = TimeSource.virtual(start: Date(timeIntervalSince1970: 0))
        let log = Log()
        let (queue, input) = AsyncStream<Activity.Token?>.makeStream()
        let worker = Task {
            for await token in queue {
                await time.work {
                    token?.release()
                    await Self.realWork(300)
                    await log.add("handed-over work done at \(Int(time.now().timeIntervalSince1970))")
                }
            }
        }
        let producer = time.task {
            try? await time.sleep(for: .seconds(5))
            input.yield(time.hold())
        }
        let later = time.task {
            try? await time.sleep(for: .seconds(6))
            await log.add("later woke at \(Int(time.now().timeIntervalSince1970))")
        }
        await time.advance(by: .seconds(10))
        await producer.value
        await later.value
        input.finish()
        await worker.value
        let lines = await log.lines
        #expect(lines == ["handed-over work done at 5", "later woke at 6"])
    }

    @Test("counted work waiting for something that needs the clock does not stop time for good")
    func patience() async throws {
        let time = TimeSource.virtual(VirtualClock(patience: .milliseconds(50)), start: Date(timeIntervalSince1970: 0))
        let (released, release) = AsyncStream<Void>.makeStream()
        // Counted, and waiting for an event that only the clock's next deadline produces.
        let stuck = time.task {
            for await _ in released { return }
        }
        let releaser = time.task {
            try? await time.sleep(for: .seconds(1))
            release.yield()
        }
        await time.advance(by: .seconds(2))
        await releaser.value
        await stuck.value
        #expect(time.now() == Date(timeIntervalSince1970: 2))
    }
}
