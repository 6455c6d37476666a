import Core
import Foundation
import Messaging

/// Decides what one delivery becomes: a result, a retry, or a dead letter and a failed result.
///
/// It works in two halves. `evaluate` parses the job and runs the pipeline; in the worker it
/// runs in a child process, since a job may crash the code that runs it. `plan` turns what
/// came back (a result, or the news that the child died) into the messages to publish; the
/// worker publishes them all, waits for the confirms, and only then acks the delivery. Neither
/// half touches the broker, so every decision is tested without one.
public struct JobHandler: Sendable {
    /// What to do with a delivery.
    public struct Plan: Sendable {
        public enum Disposition: Sendable, Hashable {
            /// Graded or rejected: a final result.
            case answered
            /// A passing failure: sent to the retry queue as this attempt.
            case retry(attempt: Int)
            /// The job crashed its worker process: sent back to the work queue with this count.
            case crashed(count: Int)
            /// A bad message, a lasting failure, the last attempt failed, or too many crashes.
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

    /// Headers that carry a header budget: the original's own headers, ours, and the trace
    /// must fit one frame (the client asks for 128 KiB; half is left for the rest).
    static let headerBudget = 64 * 1024
    /// Input echoed into a header or an error is cut to this many UTF-8 bytes.
    static let echoLimit = 300

    public init(pipeline: PipelineConfig, fingerprint: Fingerprint, settings: WorkerConfiguration) {
        self.pipeline = pipeline
        self.fingerprint = fingerprint
        self.settings = settings
    }

    /// Runs the pipeline for `delivery` and plans what to publish (this blocks: call it off
    /// the cooperative pool). The worker does the same in two halves, across a process.
    public func handle(_ delivery: Delivery) -> Plan {
        let delivery = Self.withTraceparent(delivery)
        return plan(for: delivery, result: evaluate(delivery.body, messageID: delivery.properties.messageID,
                                             attempt: attempt(of: delivery), redelivered: redelivered(delivery)))
    }

    // MARK: Running a job

    /// Parses a job body and runs the pipeline: a result for every input, never a throw.
    public func evaluate(_ body: [UInt8], messageID: String?, attempt: Int, redelivered: Bool) -> GradingResult {
        let request: Request
        do {
            request = try Job.parse(body, maxBytes: settings.maxMessageBytes).request()
        } catch {
            let failure = Failure(stage: "job", code: error.code.rawValue, message: Echo.clip(error.description, maxBytes: Self.echoLimit),
                                  retriable: false)
            return GradingResult(jobID: jobID(body: body, messageID: messageID), failure: failure,
                                 fingerprint: fingerprint, attempt: attempt, redelivered: redelivered,
                                 workerID: settings.workerID)
        }
        var graded = request
        graded.attempt = attempt
        let outcome = pipeline.run(&graded, level: settings.trace)
        return GradingResult(request: graded, outcome: outcome, fingerprint: fingerprint, attempt: attempt,
                             redelivered: redelivered, workerID: settings.workerID)
    }

    // MARK: Planning what to publish

    /// The messages for a result that the pipeline produced.
    public func plan(for delivery: Delivery, result: GradingResult) -> Plan {
        guard let failure = result.error else {
            return Plan(disposition: .answered, result: result, messages: [resultMessage(result, for: delivery)])
        }
        let attempt = result.attempt
        if failure.retriable, let (queueDelay, expiration) = settings.retry.delay(beforeAttempt: attempt + 1) {
            return Plan(disposition: .retry(attempt: attempt + 1), result: nil, messages: [
                retryMessage(delivery, jobID: result.jobID, attempt: attempt + 1, queueDelayMs: queueDelay,
                             expirationMs: expiration, failure: failure),
            ])
        }
        return Plan(disposition: .deadLettered, result: result, messages: [
            resultMessage(result, for: delivery),
            deadLetter(delivery, jobID: result.jobID, failure: failure, attempt: attempt, trace: result.trace),
        ])
    }

    /// The messages for a job whose run ended without a result: its process crashed, ran past
    /// the time limit, or grew past the memory limit (`failure` says which).
    ///
    /// A crash is counted in the message itself (`x-gradeline-crashes`), so that every worker
    /// of the fleet sees the count: below `max_crashes` the job goes back to the work queue,
    /// and at the limit it is answered `failed` and dead-lettered with its context. The count
    /// is clamped to `0...max_crashes`, so a forged header can neither loop nor overflow. A
    /// timeout takes the ordinary retry path; a memory failure is lasting (dead-lettered).
    public func plan(for delivery: Delivery, workerFailure failure: Failure) -> Plan {
        let attempt = attempt(of: delivery)
        let jobID = jobID(body: delivery.body, messageID: delivery.properties.messageID)
        if failure.code == FailureCode.workerCrashed {
            let counted = delivery.properties.headers[Headers.crashes]?.integer ?? 0
            let crashes = Int(min(max(counted, 0), Int64(settings.maxCrashes))) + 1
            if crashes < settings.maxCrashes {
                return Plan(disposition: .crashed(count: crashes), result: nil,
                            messages: [crashRequeue(delivery, jobID: jobID, crashes: crashes, failure: failure)])
            }
        }
        let result = GradingResult(jobID: jobID, failure: failure, fingerprint: fingerprint, attempt: attempt,
                                   redelivered: redelivered(delivery), workerID: settings.workerID)
        return plan(for: delivery, result: result)
    }

    /// The answer for a job that the work queue dead-lettered by itself (the delivery limit
    /// after crashes no worker could record, or a rejection): a `failed` result only, so that
    /// the kiosk hears back. The dead letter itself is already in the dead-letter queue.
    public func plan(forDeadLettered delivery: Delivery) -> Plan {
        let headers = delivery.properties.headers
        let reason = headers["x-first-death-reason"]?.text ?? "unknown"
        let count = headers[Headers.deliveryCount]?.integer.map { " after \($0) deliveries" } ?? ""
        let failure = Failure(stage: "worker", code: reason == "delivery_limit" ? FailureCode.deliveryLimit : "dead_lettered",
                              message: "the work queue dead-lettered the job (\(Echo.clip(reason, maxBytes: 60 - 3))\(count)) without an answer",
                              retriable: false)
        let result = GradingResult(jobID: jobID(body: delivery.body, messageID: delivery.properties.messageID),
                                   failure: failure, fingerprint: fingerprint, attempt: attempt(of: delivery),
                                   redelivered: true, workerID: settings.workerID)
        return Plan(disposition: .deadLettered, result: result, messages: [resultMessage(result, for: delivery)])
    }

    /// Codes of the failures that the supervisor, not the pipeline, reports.
    public enum FailureCode {
        public static let workerCrashed = "worker_crashed"
        public static let timeout = "timeout"
        public static let memoryLimit = "memory_limit"
        public static let deliveryLimit = "delivery_limit"
    }

    // MARK: Reading a delivery

    /// The attempt number a delivery carries, from 1, clamped to the retry policy's range so
    /// that a forged header can neither skip the retries nor echo a huge number.
    public func attempt(of delivery: Delivery) -> Int {
        let raw = delivery.properties.headers[Headers.attempt]?.integer ?? 1
        return Int(min(max(raw, 1), Int64(settings.retry.maxAttempts)))
    }

    /// True when the broker delivered this message before.
    public func redelivered(_ delivery: Delivery) -> Bool {
        delivery.redelivered || (delivery.properties.headers[Headers.deliveryCount]?.integer ?? 0) > 0
    }

    /// The job id for a result: the body's `job_id` when it is a usable id, else the
    /// message id, else "unknown". Never longer than an AMQP short string allows.
    func jobID(body: [UInt8], messageID: String?) -> String {
        if let id = Self.lenientJobID(body, limit: settings.maxMessageBytes) { return id }
        if let messageID, !messageID.isEmpty { return Echo.clip(messageID, maxBytes: Job.maxIDBytes - 3) }
        return "unknown"
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

    // MARK: Messages

    /// The result's message; it carries the job's traceparent.
    func resultMessage(_ result: GradingResult, for delivery: Delivery) -> OutgoingMessage {
        var headers: [String: AMQPValue] = [Headers.attempt: .int(Int64(result.attempt)),
                                            Headers.worker: .string(Echo.clip(settings.workerID, maxBytes: Self.echoLimit))]
        headers[Headers.traceparent] = Self.traceparent(of: delivery).map(AMQPValue.string)
        return OutgoingMessage(
            exchange: settings.topology.resultsExchange, routingKey: "result.\(result.status)",
            body: Array(result.json().utf8),
            properties: MessageProperties(contentType: "application/json",
                                          correlationID: Echo.clip(result.jobID, maxBytes: OutgoingMessage.shortStringLimit - 3),
                                          headers: headers))
    }

    func retryMessage(_ delivery: Delivery, jobID: String, attempt: Int, queueDelayMs: Int, expirationMs: Int,
                      failure: Failure) -> OutgoingMessage {
        var ours: [String: AMQPValue] = [
            Headers.attempt: .int(Int64(attempt)),
            Headers.jobID: .string(Echo.clip(jobID, maxBytes: Self.echoLimit)),
            Headers.errorStage: .string(Echo.clip(failure.stage, maxBytes: Self.echoLimit)),
            Headers.errorMessage: .string(Echo.clip(failure.message, maxBytes: Self.echoLimit)),
        ]
        ours[Headers.crashes] = delivery.properties.headers[Headers.crashes]
        return OutgoingMessage(
            exchange: "", routingKey: settings.topology.retryQueue(delayMs: queueDelayMs), body: delivery.body,
            properties: passedOn(delivery, expirationMs: expirationMs, headers: ours))
    }

    func crashRequeue(_ delivery: Delivery, jobID: String, crashes: Int, failure: Failure) -> OutgoingMessage {
        OutgoingMessage(
            exchange: "", routingKey: settings.topology.jobsQueue, body: delivery.body,
            properties: passedOn(delivery, headers: [
                Headers.crashes: .int(Int64(crashes)),
                Headers.jobID: .string(Echo.clip(jobID, maxBytes: Self.echoLimit)),
                Headers.errorStage: .string(failure.stage),
                Headers.errorMessage: .string(Echo.clip(failure.message, maxBytes: Self.echoLimit)),
            ]))
    }

    func deadLetter(_ delivery: Delivery, jobID: String, failure: Failure, attempt: Int,
                    trace: [TraceEntry]) -> OutgoingMessage {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var traceJSON = (try? encoder.encode(trace)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        if traceJSON.utf8.count > Headers.traceLimit {
            traceJSON = "{\"truncated\": true, \"entries\": \(trace.count)}"
        }
        return OutgoingMessage(
            exchange: settings.topology.deadExchange, routingKey: "dead.\(Echo.clip(failure.code, maxBytes: 200 - 3))",
            body: delivery.body,
            properties: passedOn(delivery, headers: [
                Headers.jobID: .string(Echo.clip(jobID, maxBytes: Self.echoLimit)),
                Headers.attempt: .int(Int64(attempt)),
                Headers.worker: .string(Echo.clip(settings.workerID, maxBytes: Self.echoLimit)),
                Headers.errorStage: .string(Echo.clip(failure.stage, maxBytes: Self.echoLimit)),
                Headers.errorCode: .string(Echo.clip(failure.code, maxBytes: Self.echoLimit)),
                Headers.errorMessage: .string(Echo.clip(failure.message, maxBytes: Self.echoLimit)),
                Headers.errorRetriable: .bool(failure.retriable),
                Headers.trace: .string(traceJSON),
            ]))
    }

    /// The properties of a copy of `delivery`: its own headers, every one with its type,
    /// then `ours` over them. When they would not fit one frame, the trace goes first, then
    /// the original headers (their count is recorded), so that the copy can always be sent.
    func passedOn(_ delivery: Delivery, expirationMs: Int? = nil, headers ours: [String: AMQPValue]) -> MessageProperties {
        var ours = ours
        ours[Headers.traceparent] = delivery.properties.headers[Headers.traceparent]  // kept when the rest is dropped
        var headers = delivery.properties.headers
        headers[Headers.deliveryCount] = nil
        headers.merge(ours) { $1 }
        if AMQPValue.tableSize(headers) > Self.headerBudget, headers[Headers.trace] != nil {
            headers[Headers.trace] = .string("{\"truncated\": true}")
        }
        if AMQPValue.tableSize(headers) > Self.headerBudget {
            headers = ours
            headers[Headers.trace] = ours[Headers.trace].map { _ in .string("{\"truncated\": true}") }
            headers[Headers.droppedHeaders] = .int(Int64(delivery.properties.headers.keys.filter { ours[$0] == nil }.count))
        }
        let properties = delivery.properties
        return MessageProperties(
            contentType: properties.contentType.map { Echo.clip($0, maxBytes: OutgoingMessage.shortStringLimit - 3) },
            messageID: properties.messageID, expirationMs: expirationMs, headers: headers)
    }
}
