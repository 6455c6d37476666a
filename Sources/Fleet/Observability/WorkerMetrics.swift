import Core
import Foundation
import Metrics
import Prometheus

/// The worker's Prometheus metrics (issue 12), recorded through swift-metrics with
/// swift-prometheus as its backend and served on the metrics port (`ObservabilityServer`).
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `gradeline_jobs_total` | counter | `status`, `reason` (first rejection code, or the error code; `none` when graded) |
/// | `gradeline_stage_seconds` | histogram | `pipeline`, `function` (each step of the trace) |
/// | `gradeline_job_seconds` | histogram | from delivery to ack, in the supervisor |
/// | `gradeline_queue_wait_seconds` | histogram | delivery time minus the job's `submitted_at` |
/// | `gradeline_jobs_in_flight` | gauge | between delivery and ack |
/// | `gradeline_retries_total` | counter | |
/// | `gradeline_dead_letters_total` | counter | `code` |
/// | `gradeline_reconnects_total` | counter | `connection` (`consume`, `publish`) |
/// | `gradeline_model_load_seconds` | gauge | the pipeline processes' start, models included |
/// | `gradeline_build_info` | gauge (1) | `version`, `config_sha256` |
///
/// Label values come from the worker's own vocabularies (statuses, codes, stage names), never
/// from a job's fields, so a hostile job cannot grow the number of series.
public final class WorkerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Buckets for stages (milliseconds to a minute) and for whole jobs and queue waits (up to 10 minutes).
    static let stageBuckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                           .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                           .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]
    static let jobBuckets: [Duration] = [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                         .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
                                         .seconds(120), .seconds(300), .seconds(600)]

    /// Bootstraps swift-metrics with a Prometheus factory over a new registry. Once per process.
    public static func bootstrap(version: String, configSHA256: String) -> WorkerMetrics {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = stageBuckets
        factory.durationHistogramBuckets = ["gradeline_job_seconds": jobBuckets, "gradeline_queue_wait_seconds": jobBuckets]
        MetricsSystem.bootstrap(factory)
        let metrics = WorkerMetrics(registry: registry)
        Gauge(label: "gradeline_build_info", dimensions: [("version", version), ("config_sha256", configSHA256)]).record(1)
        Gauge(label: "gradeline_jobs_in_flight").record(0)
        return metrics
    }

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    // MARK: Recording (through swift-metrics, so that any backend would do)

    /// `gradeline_build_info` names the live config: the old series drops to 0, the new is 1.
    static func configChanged(from old: String, to new: String) {
        Gauge(label: "gradeline_build_info", dimensions: [("version", Gradeline.version), ("config_sha256", old)]).record(0)
        Gauge(label: "gradeline_build_info", dimensions: [("version", Gradeline.version), ("config_sha256", new)]).record(1)
    }

    static func inFlight(_ count: Int) {
        Gauge(label: "gradeline_jobs_in_flight").record(count)
    }

    static func reconnected(_ connection: String) {
        Counter(label: "gradeline_reconnects_total", dimensions: [("connection", connection)]).increment()
    }

    static func modelsLoaded(in duration: Duration) {
        Gauge(label: "gradeline_model_load_seconds").record(duration.seconds)
    }

    static func queueWait(submittedAt: String?, deliveredAt: Date) {
        guard let submittedAt, let instant = RFC3339(submittedAt) else { return }
        let wait = deliveredAt.timeIntervalSince1970 - instant.secondsSince1970
        guard wait.isFinite, wait >= 0, wait < 86_400 * 365 else { return }  // a kiosk clock far off says nothing
        Timer(label: "gradeline_queue_wait_seconds").recordNanoseconds(Int64(wait * 1e9))
    }

    /// Everything a planned outcome says: the job counter, stage times, retries and dead letters.
    static func record(_ plan: JobHandler.Plan, jobTime: Duration) {
        Timer(label: "gradeline_job_seconds").record(duration: jobTime)
        switch plan.disposition {
        case .retry:
            Counter(label: "gradeline_retries_total").increment()
            return
        case .crashed:
            return  // it goes back to the queue; its answer comes later
        case .answered, .deadLettered:
            break
        }
        guard let result = plan.result else { return }
        let reason = result.reasons.first?.code ?? result.error?.code ?? "none"
        Counter(label: "gradeline_jobs_total", dimensions: [("status", result.status), ("reason", reason)]).increment()
        for entry in result.trace {
            Timer(label: "gradeline_stage_seconds", dimensions: [("pipeline", entry.pipeline), ("function", entry.function)])
                .recordNanoseconds(Int64(entry.durationMs * 1e6))
        }
        if case .deadLettered = plan.disposition {
            Counter(label: "gradeline_dead_letters_total", dimensions: [("code", result.error?.code ?? "unknown")]).increment()
        }
    }
}
