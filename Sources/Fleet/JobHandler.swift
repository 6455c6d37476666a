import Core
import Foundation
import Messaging

/// Decides what one delivery becomes: a result, a retry, or a dead letter and a failed result.
///
/// It runs the pipeline and returns the messages to publish; the caller publishes them all,
/// waits for the confirms, and only then acks the delivery. It touches no broker itself, so
/// its decisions are tested without one.
public struct JobHandler: Sendable {
    /// What to do with a delivery.
    public struct Plan: Sendable {
        public enum Disposition: Sendable, Hashable {
            /// Graded or rejected: a final result.
            case answered
            /// A passing failure: sent to the retry queue as this attempt.
            case retry(attempt: Int)
            /// A bad message, a lasting failure, or the last attempt failed.
            case deadLettered
        }

        public var disposition: Disposition
        /// The result to publish, when there is one (not for a retry).
        public var result: GradingResult?
        /// Every message to publish before the delivery is acked.
        public var messages: [OutgoingMessage]
    }

    public let pipeline: PipelineConfig
    public let fingerprint: Fingerprint
    public let settings: WorkerConfiguration

    public init(pipeline: PipelineConfig, fingerprint: Fingerprint, settings: WorkerConfiguration) {
        self.pipeline = pipeline
        self.fingerprint = fingerprint
        self.settings = settings
    }

    /// Runs the pipeline for `delivery` (this blocks: call it off the cooperative pool).
    public func handle(_ delivery: Delivery) -> Plan {
        let attempt = Self.attempt(of: delivery)
        let redelivered = delivery.redelivered || (Self.int(delivery.properties.headers[Headers.deliveryCount]) ?? 0) > 0
        let fallbackID = delivery.properties.messageID ?? "unknown"

        let job: Job
        let request: Request
        do {
            job = try Job.parse(delivery.body, maxBytes: settings.maxMessageBytes)
            request = try job.request()
        } catch {
            let failure = Failure(stage: "job", code: error.code.rawValue, message: error.description, retriable: false)
            let jobID = Self.lenientJobID(delivery.body, limit: settings.maxMessageBytes) ?? fallbackID
            let result = GradingResult(jobID: jobID, failure: failure, fingerprint: fingerprint, attempt: attempt,
                                       redelivered: redelivered, workerID: settings.workerID)
            return Plan(disposition: .deadLettered, result: result,
                        messages: [resultMessage(result), deadLetter(delivery, jobID: jobID, failure: failure,
                                                                   attempt: attempt, trace: [])])
        }

        var graded = request
        graded.attempt = attempt
        let outcome = pipeline.run(&graded, level: settings.trace)
        let result = GradingResult(request: graded, outcome: outcome, fingerprint: fingerprint, attempt: attempt,
                                   redelivered: redelivered, workerID: settings.workerID)
        guard case .failed(let failure) = outcome else {
            return Plan(disposition: .answered, result: result, messages: [resultMessage(result)])
        }
        if failure.retriable, let (queueDelay, expiration) = settings.retry.delay(beforeAttempt: attempt + 1) {
            return Plan(disposition: .retry(attempt: attempt + 1), result: nil, messages: [
                retryMessage(delivery, jobID: job.jobID, attempt: attempt + 1, queueDelayMs: queueDelay,
                             expirationMs: expiration, failure: failure),
            ])
        }
        return Plan(disposition: .deadLettered, result: result, messages: [
            resultMessage(result),
            deadLetter(delivery, jobID: job.jobID, failure: failure, attempt: attempt, trace: graded.trace),
        ])
    }

    /// The `job_id` of a body that is JSON but not a valid job, so that its failed result still
    /// names the job; nil when there is none, or when it is not a valid id (over
    /// `Job.maxIDBytes`, so it may not fit a `correlation_id`) or holds control characters.
    static func lenientJobID(_ body: [UInt8], limit: Int) -> String? {
        guard body.count <= limit,
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let id = object["job_id"] as? String, Job.isValidID(id),
              !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return nil }
        return id
    }

    /// The attempt number a delivery carries, from 1.
    public static func attempt(of delivery: Delivery) -> Int {
        max(1, int(delivery.properties.headers[Headers.attempt]) ?? 1)
    }

    private static func int(_ value: AMQPValue?) -> Int? {
        switch value {
        case .int(let number): Int(number)
        case .string(let text): Int(text)
        default: nil
        }
    }

    func resultMessage(_ result: GradingResult) -> OutgoingMessage {
        OutgoingMessage(
            exchange: settings.topology.resultsExchange, routingKey: "result.\(result.status)",
            body: Array(result.json().utf8),
            properties: MessageProperties(contentType: "application/json", correlationID: result.jobID,
                                          headers: [Headers.attempt: .int(Int64(result.attempt)),
                                                    Headers.worker: .string(settings.workerID)]))
    }

    func retryMessage(_ delivery: Delivery, jobID: String, attempt: Int, queueDelayMs: Int, expirationMs: Int,
                      failure: Failure) -> OutgoingMessage {
        var headers = delivery.properties.headers
        headers[Headers.attempt] = .int(Int64(attempt))
        headers[Headers.jobID] = .string(jobID)
        headers[Headers.errorStage] = .string(failure.stage)
        headers[Headers.errorMessage] = .string(failure.message)
        headers[Headers.deliveryCount] = nil
        return OutgoingMessage(
            exchange: "", routingKey: settings.topology.retryQueue(delayMs: queueDelayMs), body: delivery.body,
            properties: MessageProperties(contentType: delivery.properties.contentType,
                                          messageID: delivery.properties.messageID,
                                          expirationMs: expirationMs, headers: headers))
    }

    func deadLetter(_ delivery: Delivery, jobID: String, failure: Failure, attempt: Int,
                    trace: [TraceEntry]) -> OutgoingMessage {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var traceJSON = (try? encoder.encode(trace)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        if traceJSON.utf8.count > Headers.traceLimit {
            traceJSON = "{\"truncated\": true, \"entries\": \(trace.count)}"
        }
        var headers = delivery.properties.headers
        headers[Headers.jobID] = .string(jobID)
        headers[Headers.attempt] = .int(Int64(attempt))
        headers[Headers.worker] = .string(settings.workerID)
        headers[Headers.errorStage] = .string(failure.stage)
        headers[Headers.errorCode] = .string(failure.code)
        headers[Headers.errorMessage] = .string(failure.message)
        headers[Headers.errorRetriable] = .bool(failure.retriable)
        headers[Headers.trace] = .string(traceJSON)
        return OutgoingMessage(
            exchange: settings.topology.deadExchange, routingKey: "dead.\(failure.code)", body: delivery.body,
            properties: MessageProperties(contentType: delivery.properties.contentType,
                                          messageID: delivery.properties.messageID, headers: headers))
    }
}
