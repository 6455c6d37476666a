import Core
import Foundation
import Messaging

/// How a worker runs: `config/worker.yaml`, then the environment, then command-line flags.
///
/// | setting | environment | default |
/// |---|---|---|
/// | `amqp.url`, or `amqp.urls` (a cluster's nodes, tried in order) | `GRADELINE_AMQP_URL` (comma-separated for several) | `amqp://guest:guest@127.0.0.1:5679/` |
/// | `amqp.heartbeat_seconds` | | 30 |
/// | `worker.concurrency` (jobs at once) | `GRADELINE_CONCURRENCY` | 2 |
/// | `worker.pipeline` | `GRADELINE_PIPELINE` | `config/pipeline.yaml` |
/// | `worker.trace` (`summary` or `full`) | `GRADELINE_TRACE` | `summary` |
/// | `worker.id` | `GRADELINE_WORKER_ID` | `<host>:<pid>` |
/// | `worker.shutdown_deadline_seconds` | | 30 |
/// | `worker.max_message_bytes` | | 64 MiB |
/// | `worker.job_timeout_seconds` (a job's process is killed past it) | | 120 |
/// | `worker.max_job_rss_bytes` (a job's process is killed above it) | `GRADELINE_MAX_JOB_RSS_BYTES` | 4 GiB |
/// | `worker.max_crashes` (crashes of one job before it is dead-lettered) | | 2 |
/// | `worker.refused_publish_seconds` (how long an outcome the broker refuses is published again before its job is dead-lettered) | | 300 |
/// | `retry.delays_ms` (one retry per entry) | | `[1000, 5000, 30000]` |
/// | `retry.jitter` (fraction taken off at random) | | 0.2 |
/// | `topology.*` (names, `delivery_limit`) | | see `Topology` |
/// | `topology.declare` (false: only check that it exists) | `GRADELINE_TOPOLOGY_DECLARE` | true |
/// | `metrics.port` (metrics and health over HTTP; 0 turns it off) | `GRADELINE_METRICS_PORT` | 9464 |
///
/// The password in the URL is never logged.
public struct WorkerConfiguration: Sendable {
    public var amqpURL = "amqp://guest:guest@127.0.0.1:5679/"
    public var heartbeatSeconds = 30
    public var concurrency = 2
    public var pipeline = "config/pipeline.yaml"
    public var trace = TraceLevel.summary
    public var workerID = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    public var shutdownDeadlineSeconds = 30.0
    public var maxMessageBytes = 64 << 20
    public var jobTimeoutSeconds = 120.0
    public var maxJobRSSBytes = 4 << 30
    public var maxCrashes = 2
    public var refusedPublishSeconds = 300.0
    public var retry = RetryPolicy()
    public var topology = Topology()
    /// The HTTP port of /metrics and /health/*; 0 turns it off.
    public var metricsPort = 9464

    public init() {}

    /// The broker's URLs: `amqpURL` split at commas, in the order to try them.
    public func brokerURLs() throws(AMQPError) -> [AMQPURL] { try AMQPURL.list(amqpURL) }

    /// The other URLs of `brokerURLs()` than `url`, for a client's alternates.
    public func alternates(besides url: AMQPURL) -> [AMQPURL] {
        ((try? brokerURLs()) ?? []).filter { $0 != url }
    }

    /// Reads `file` (when it exists) and the environment. Every mistake is reported at once.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(SettingsError) -> WorkerConfiguration {
        var configuration = WorkerConfiguration()
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw SettingsError(problems: ["\(file): cannot read the worker settings file"])
            }
            var reader = SettingsReader(file: file, text: String(decoding: data, as: UTF8.self))
            configuration.read(&reader)
            reader.finish()
            if !reader.problems.isEmpty { throw SettingsError(problems: reader.problems) }
        }
        try configuration.applyEnvironment(environment)
        return configuration
    }

    private mutating func read(_ reader: inout SettingsReader) {
        amqpURL = reader.string("amqp.url", default: amqpURL)
        amqpURL = reader.strings("amqp.urls", default: [amqpURL]).joined(separator: ",")
        heartbeatSeconds = reader.int("amqp.heartbeat_seconds", default: heartbeatSeconds, in: 0...600)
        concurrency = reader.int("worker.concurrency", default: concurrency, in: 1...256)
        pipeline = reader.string("worker.pipeline", default: pipeline)
        let traceName = reader.string("worker.trace", default: trace.rawValue)
        if let level = TraceLevel(rawValue: traceName) { trace = level } else {
            reader.reject("worker.trace must be 'summary' or 'full', not '\(traceName)'")
        }
        workerID = reader.string("worker.id", default: workerID)
        shutdownDeadlineSeconds = reader.double("worker.shutdown_deadline_seconds", default: shutdownDeadlineSeconds, in: 0...3600)
        maxMessageBytes = reader.int("worker.max_message_bytes", default: maxMessageBytes, in: 1024...(1 << 30))
        jobTimeoutSeconds = reader.double("worker.job_timeout_seconds", default: jobTimeoutSeconds, in: 0.1...86_400)
        maxJobRSSBytes = reader.int("worker.max_job_rss_bytes", default: maxJobRSSBytes, in: (64 << 20)...(1 << 40))
        maxCrashes = reader.int("worker.max_crashes", default: maxCrashes, in: 1...100)
        refusedPublishSeconds = reader.double("worker.refused_publish_seconds", default: refusedPublishSeconds, in: 0...86_400)
        retry.delaysMs = reader.ints("retry.delays_ms", default: retry.delaysMs, in: 1...86_400_000)
        retry.jitter = reader.double("retry.jitter", default: retry.jitter, in: 0...0.9)
        metricsPort = reader.int("metrics.port", default: metricsPort, in: 0...65535)
        topology.jobsExchange = reader.string("topology.jobs_exchange", default: topology.jobsExchange)
        topology.jobsQueue = reader.string("topology.jobs_queue", default: topology.jobsQueue)
        topology.jobsBinding = reader.string("topology.jobs_binding", default: topology.jobsBinding)
        topology.resultsExchange = reader.string("topology.results_exchange", default: topology.resultsExchange)
        topology.deadExchange = reader.string("topology.dead_exchange", default: topology.deadExchange)
        topology.deadQueue = reader.string("topology.dead_queue", default: topology.deadQueue)
        topology.retryQueuePrefix = reader.string("topology.retry_queue_prefix", default: topology.retryQueuePrefix)
        topology.deliveryLimit = reader.int("topology.delivery_limit", default: topology.deliveryLimit, in: 1...1000)
        topology.declares = reader.bool("topology.declare", default: topology.declares)
    }

    private mutating func applyEnvironment(_ environment: [String: String]) throws(SettingsError) {
        var problems: [String] = []
        if let url = environment["GRADELINE_AMQP_URL"] { amqpURL = url }
        func integer(_ name: String, in range: ClosedRange<Int>, _ what: String) -> Int? {
            guard let value = environment[name] else { return nil }
            if let number = Int(value), range.contains(number) { return number }
            problems.append("\(name) must be \(what), not '\(value)'")
            return nil
        }
        if let number = integer("GRADELINE_CONCURRENCY", in: 1...256, "an integer from 1 to 256") { concurrency = number }
        if let number = integer("GRADELINE_MAX_JOB_RSS_BYTES", in: (64 << 20)...(1 << 40), "a byte count from 64 MiB to 1 TiB") {
            maxJobRSSBytes = number
        }
        if let value = environment["GRADELINE_PIPELINE"] { pipeline = value }
        if let value = environment["GRADELINE_TRACE"] {
            if let level = TraceLevel(rawValue: value) { trace = level } else {
                problems.append("GRADELINE_TRACE must be 'summary' or 'full', not '\(value)'")
            }
        }
        if let value = environment["GRADELINE_WORKER_ID"] { workerID = value }
        if let number = integer("GRADELINE_METRICS_PORT", in: 0...65535, "a port from 0 (off) to 65535") { metricsPort = number }
        if let value = environment["GRADELINE_TOPOLOGY_DECLARE"] {
            switch value.lowercased() {
            case "true", "1", "yes": topology.declares = true
            case "false", "0", "no": topology.declares = false
            default: problems.append("GRADELINE_TOPOLOGY_DECLARE must be true or false, not '\(value)'")
            }
        }
        if !problems.isEmpty { throw SettingsError(problems: problems) }
    }
}

/// When and how often a job that failed for a passing reason is tried again.
public struct RetryPolicy: Sendable, Hashable {
    /// One retry per entry: the wait before it, in milliseconds.
    public var delaysMs = [1000, 5000, 30000]
    /// Each wait is shortened at random by up to this fraction, so that retries spread out.
    public var jitter = 0.2

    public init() {}

    /// Tries in all, the first included.
    public var maxAttempts: Int { delaysMs.count + 1 }

    /// The retry queue's delay and this message's jittered TTL before attempt `next` (2 or more).
    public func delay(beforeAttempt next: Int) -> (queueDelayMs: Int, expirationMs: Int)? {
        guard next >= 2, next - 2 < delaysMs.count else { return nil }
        let delay = delaysMs[next - 2]
        let jittered = Int((Double(delay) * (1 - Double.random(in: 0...jitter))).rounded())
        return (delay, max(1, jittered))
    }
}
