import Foundation
import MockFAL
import SupportKit

/// One change explore makes to a scenario's world: what FAL, Telegram and the process do, never what the user does
/// (a double tap is a user's, but a real one: a slow connection).
public enum Perturbation: Sendable, Hashable, CustomStringConvertible {
    /// A MockFAL fault rule (webhook dropped, duplicated, delayed, reordered; a 5xx/429 submit; slow answers).
    case falFault(FaultRule)
    /// A Telegram error on the bot's next call of a method, from before a step on.
    case telegramFault(TelegramFault, beforeStep: Int)
    /// AishaSystem restarts before a step.
    case restart(beforeStep: Int)
    /// A button tapped twice: the first tap still being handled when the second arrives.
    case doubleTap(step: Int)
    /// A second AishaSystem on the same database from before a step on, updates alternating between the two.
    case secondInstance(beforeStep: Int)
    /// AishaSystem dies inside a training start (between two writes, or between FAL's answer and its storage) or
    /// between a notification's send and its mark, and is started again.
    case crash(CrashPoint)

    public var description: String {
        switch self {
        case .falFault(let rule): "FAL fault \(Matching.render(try? JSONValue.from(rule.fault)))"
        case .telegramFault(let fault, let step): "Telegram \(fault.code) on \(fault.method) from step \(step + 1)"
        case .restart(let step): "restart before step \(step + 1)"
        case .doubleTap(let step): "double tap at step \(step + 1)"
        case .secondInstance(let step): "a second instance from step \(step + 1)"
        case .crash(let point): "a crash at \(point.rawValue)"
        }
    }

    /// A schedule drawn from the seed (the same seed, the same schedule) for a scenario's action steps.
    static func draw(steps: [Step], seed: UInt64) -> [Perturbation] {
        var random = SeededRandom(seed: seed)
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
        var schedule: [Perturbation] = []
        // A scenario that posts FAL's webhooks by hand plays FAL itself: moving FAL's own deliveries around it would
        // make a world FAL cannot produce (an OK and an ERROR for one job).
        let playsFAL = steps.contains {
            if case .postWebhook = $0.action { return true }
            return false
        }
        if !playsFAL, chance(0.6) {
            let webhook: Fault
            switch pick(0...3) {
            case 0: webhook = Fault(webhook: .duplicate, webhookCopies: pick(2...4))
            case 1: webhook = Fault(webhook: .delay, webhookDelaySeconds: Double(pick(5...900)))
            case 2: webhook = Fault(webhook: .drop)
            default: webhook = Fault(webhook: .reorder)
            }
            schedule.append(.falFault(FaultRule(times: pick(1...2), fault: webhook)))
        }
        // A submit that waits out Retry-After (or a reply that waits out Telegram's flood wait) holds its update on the
        // clock: the runner notices and the user waits for the answer before acting again.
        if !playsFAL, chance(0.25) {
            let status = chance(0.5) ? 429 : [500, 502, 503][pick(0...2)]
            schedule.append(.falFault(FaultRule(times: 1, fault: Fault(submitStatus: status, retryAfterSeconds: pick(1...10)))))
        }
        guard steps.count > 1 else { return schedule }
        if chance(0.4) {
            let step = pick(0...(steps.count - 1))
            let wait = pick(1...10)
            // The bot's sends: new messages, and the edits of its progress message.
            let method = chance(0.75) ? "sendMessage" : "editMessageText"
            let fault =
                chance(0.7)
                ? TelegramFault(method: method, code: 429, description: "Too Many Requests: retry after \(wait)", retryAfter: wait)
                : TelegramFault(method: method, code: 502, description: "Bad Gateway")
            schedule.append(.telegramFault(fault, beforeStep: step))
        }
        // A restart waits for the updates still being handled: none may be waiting on the clock (a background tap).
        let firstBackground = steps.firstIndex {
            if case .tap(_, _, true, _) = $0.action { return true }
            if case .send(_, _, true) = $0.action { return true }
            return false
        }
        let lastRestart = min(steps.count - 1, firstBackground ?? steps.count)
        if chance(0.3), lastRestart >= 1 { schedule.append(.restart(beforeStep: pick(1...lastRestart))) }
        let taps = steps.indices.filter {
            if case .tap(_, _, false, .latest) = steps[$0].action { return $0 < lastRestart }
            return false
        }
        if chance(0.3), let step = taps.randomElement(using: &random) { schedule.append(.doubleTap(step: step)) }
        if chance(0.2) { schedule.append(.secondInstance(beforeStep: pick(0...(steps.count - 1)))) }
        if chance(0.15) { schedule.append(.crash(CrashPoint.allCases[pick(0...(CrashPoint.allCases.count - 1))])) }
        return schedule
    }

    /// The scenario with the perturbations in place: fault rules added, steps inserted before the step they name.
    static func apply(_ schedule: [Perturbation], to scenario: Scenario, steps: [Step]) -> Scenario {
        var perturbed = scenario
        var result: [Step] = []
        for (index, step) in steps.enumerated() {
            for perturbation in schedule {
                switch perturbation {
                case .telegramFault(let fault, index):
                    result.append(Step(line: step.line, action: .telegramFault(fault), summary: "telegram_fault: \(Self.json(fault))"))
                case .restart(index):
                    result.append(Step(line: step.line, action: .restart, summary: "restart: {}"))
                case .secondInstance(index):
                    result.append(Step(line: step.line, action: .secondInstance, summary: "second_instance: {}"))
                case .doubleTap(index):
                    if case .tap(let label, let user, _, .latest) = step.action {
                        var map: [String: JSONValue] = ["label": .string(label), "background": true]
                        if let user { map["user"] = .int(Int(user)) }
                        result.append(Step(line: step.line, action: .tap(label, user: user, background: true), summary: "tap: \(Matching.render(.object(map)))"))
                    }
                case .falFault, .telegramFault, .restart, .doubleTap, .secondInstance, .crash:
                    continue
                }
            }
            result.append(step)
        }
        perturbed.steps = result
        for case .falFault(let rule) in schedule { perturbed.faults.append(rule) }
        for case .crash(let point) in schedule { perturbed.crashAt = point }
        return perturbed
    }

    private static func json(_ fault: TelegramFault) -> String {
        var map: [String: JSONValue] = ["method": .string(fault.method), "code": .int(fault.code), "description": .string(fault.description)]
        if let wait = fault.retryAfter { map["retry_after"] = .int(wait) }
        if fault.times != 1 { map["times"] = .int(fault.times) }
        return Matching.render(.object(map))
    }
}
