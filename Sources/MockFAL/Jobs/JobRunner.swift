#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

extension FALQueue {
    /// Runs a job: downloads and checks its archive, then lets it progress on the clock until it completes or
    /// reaches its fault's failure step, then sends the webhook. The submit counted the job as busy.
    func run(_ id: String) async {
        guard let submitted = jobs[id] else { return busyDone() }
        if let wait = submitted.fault.queueSeconds, wait > 0 {  // not busy while it waits: the clock must move
            busyDone()
            do { try await configuration.time.sleep(until: submitted.submittedAt.addingTimeInterval(wait)) } catch { return }
            busy += 1
            guard jobs[id]?.phase == .queued else { return busyDone() }
        }
        if let rule = submitted.contract.archive {
            let url = submitted.effectiveInput[rule.field]?.stringValue ?? ""
            let outcome: Result<ArchiveSummary, JobFailure>
            if let reason = submitted.fault.archiveFetchFailure {
                outcome = .failure(
                    .unprocessable(
                        field: rule.field, msg: "Failed to download archive: \(reason)", type: "file_download_error",
                        input: .string(url), ctx: ["reason": .string(reason)]))
            } else {
                outcome = await inspector.inspect(url: url, rule: rule)
            }
            guard jobs[id]?.phase == .queued else { return busyDone() }
            switch outcome {
            case .failure(let failure):
                finish(id, .failed(failure))
                return busyDone()
            case .success(let summary):
                jobs[id]?.imageCount = summary.imageCount
                jobs[id]?.archiveBytes = summary.bytes
            }
        }
        guard jobs[id]?.phase == .queued else { return busyDone() }
        let startedAt = now
        jobs[id]?.phase = .running
        jobs[id]?.startedAt = startedAt
        logger.info("job started", metadata: ["request_id": "\(id)", "steps": "\(submitted.totalSteps)"])
        busyDone()
        let stopAt = startedAt.addingTimeInterval(Double(submitted.finalStep) * configuration.stepDuration.timeInterval)
        do { try await configuration.time.sleep(until: stopAt) } catch { return }
        guard jobs[id]?.phase == .running else { return }
        if submitted.finalStep < submitted.totalSteps {
            let message =
                "Training failed at step \(submitted.finalStep)/\(submitted.totalSteps): "
                + (submitted.fault.failMessage ?? "Internal server error")
            finish(id, .failed(JobFailure(httpStatus: 500, body: ["detail": .string(message)], message: message, errorType: "internal_server_error")))
        } else {
            finish(id, .succeeded(output: ResultFactory.output(for: submitted)))
        }
    }

    func finish(_ id: String, _ phase: JobPhase) {
        jobs[id]?.phase = phase
        jobs[id]?.finishedAt = now
        logger.info("job finished", metadata: ["request_id": "\(id)", "outcome": "\(phase.isSuccess ? "OK" : "ERROR")"])
        scheduleWebhook(id)
    }

    func busyDone() {
        busy -= 1
        guard busy <= 0 else { return }
        busy = 0
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter.resume() }
    }
}

extension JobPhase {
    var isSuccess: Bool {
        if case .succeeded = self { return true }
        return false
    }
}
