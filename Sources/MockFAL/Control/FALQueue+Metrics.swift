import Prometheus

/// MockFAL's metrics (`GET /metrics`), counted from the journal and the jobs when scraped: queue calls by kind,
/// verdict and answer (in proxy mode, what the real FAL answered), jobs by status, webhook deliveries by outcome,
/// and the fault rules in force. Labels come from closed sets: never a request id.
extension FALQueue {
    public func metricsExposition() -> String {
        let registry = PrometheusCollectorRegistry()
        var calls: [[String]: Int] = [:]
        for entry in journalEntries() {
            calls[[entry.kind.rawValue, entry.verdict?.rawValue ?? "none", Self.statusClass(entry.httpStatus)], default: 0] += 1
        }
        for (labels, count) in calls.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            registry.makeCounter(descriptor: Self.calls, labels: [("kind", labels[0]), ("verdict", labels[1]), ("status", labels[2])])
                .increment(by: Int64(count))
        }
        var jobs: [String: Int] = [:]
        var deliveries: [String: Int] = [:]
        for job in snapshots() {
            jobs[job.status, default: 0] += 1
            for attempt in job.webhookAttempts { deliveries[attempt.outcome.rawValue, default: 0] += 1 }
        }
        for (status, count) in jobs.sorted(by: { $0.key < $1.key }) {
            registry.makeGauge(descriptor: Self.jobs, labels: [("status", status)]).set(Int64(count))
        }
        for (outcome, count) in deliveries.sorted(by: { $0.key < $1.key }) {
            registry.makeCounter(descriptor: Self.deliveries, labels: [("outcome", outcome)]).increment(by: Int64(count))
        }
        registry.makeGauge(descriptor: Self.faultRules).set(Int64(activeFaultRules().count))
        return registry.emitToString()
    }

    static var calls: MetricNameDescriptor {
        .init(namespace: "mockfal", metricName: "calls", unitName: "total", helpText: "Queue API calls by kind, submit verdict and answer (proxy: what FAL answered).")
    }
    static var jobs: MetricNameDescriptor { .init(namespace: "mockfal", metricName: "jobs", unitName: "", helpText: "Jobs by FAL status.") }
    static var deliveries: MetricNameDescriptor {
        .init(namespace: "mockfal", metricName: "webhook_deliveries", unitName: "total", helpText: "Webhook delivery tries by outcome.")
    }
    static var faultRules: MetricNameDescriptor { .init(namespace: "mockfal", metricName: "fault_rules", unitName: "", helpText: "Fault rules in force.") }

    /// An answer's status as a bounded label: the codes FAL's clients act on, else its class (0: no answer).
    static func statusClass(_ status: Int) -> String {
        switch status {
        case 0: "none"
        case 200..<300: "2xx"
        case 400, 401, 404, 409, 422, 429: String(status)
        case 400..<500: "4xx"
        default: "5xx"
        }
    }
}
