import Core
import Dispatch
import Foundation
import Logging
import Messaging
import ServiceLifecycle
import Synchronization

/// A grading worker: consumes jobs, runs the pipeline, publishes results, acks after confirms.
///
/// Up to `concurrency` jobs run at once, on threads of their own (never the cooperative pool).
/// On graceful shutdown (SIGTERM or SIGINT) it cancels its consumer, finishes and acks what is
/// in flight within the deadline, and closes; anything unfinished is redelivered by the broker.
public final class WorkerService: ServiceLifecycle.Service {
    let settings: WorkerConfiguration
    let handler: JobHandler
    let logger: Logger
    private let pipelineQueue = DispatchQueue(label: "gradeline.pipeline", attributes: .concurrent)
    /// Jobs between delivery and ack, for the shutdown log.
    private let inFlight = Mutex(0)

    public init(settings: WorkerConfiguration, pipeline: PipelineConfig, logger: Logger) {
        self.settings = settings
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(settings.workerID)"
        self.logger = logger
        handler = JobHandler(pipeline: pipeline,
                             fingerprint: Fingerprint(config: pipeline.sha256, models: pipeline.modelHashes, workerVersion: Gradeline.version),
                             settings: settings)
    }

    public func run() async throws {
        let url = try AMQPURL(settings.amqpURL)
        let topology = settings.topology
        let retryDelays = settings.retry.delaysMs
        let concurrency = settings.concurrency
        var consumerConfiguration = AMQPClient.Configuration(url: url, name: "\(settings.workerID)/consume")
        consumerConfiguration.confirms = false
        consumerConfiguration.heartbeatSeconds = settings.heartbeatSeconds
        var publisherConfiguration = AMQPClient.Configuration(url: url, name: "\(settings.workerID)/publish")
        publisherConfiguration.heartbeatSeconds = settings.heartbeatSeconds
        // Separate connections: when the broker blocks publishers, acks still flow.
        let consumer = AMQPClient(configuration: consumerConfiguration, logger: logger) { session throws(AMQPError) in
            try topology.declare(on: session, retryDelaysMs: retryDelays)
            // Twice the concurrency, so that the next job is already here when a slot frees.
            try session.consume(queue: topology.jobsQueue, prefetch: 2 * concurrency)
        }
        let publisher = AMQPClient(configuration: publisherConfiguration, logger: logger) { session throws(AMQPError) in
            try topology.declare(on: session, retryDelaysMs: retryDelays)
        }
        logger.info("worker started", metadata: [
            "amqp.url": "\(url)", LogKey.queue: "\(topology.jobsQueue)", "concurrency": "\(concurrency)",
            "config.sha256": "\(handler.fingerprint.config)",
        ])

        // Slots bound the pipelines running at once. A job gives its slot back as soon as its
        // pipeline ends, so that the next job computes while this one waits for its confirm.
        let slots = Slots(concurrency)
        await withDiscardingTaskGroup { group in
            for await delivery in consumer.deliveries.cancelOnGracefulShutdown() {
                await slots.acquire()
                // A slot may free up after shutdown began; the delivery then goes back unacked.
                if Task.isShuttingDownGracefully {
                    slots.release()
                    break
                }
                group.addTask { await self.process(delivery, slots: slots, consumer: consumer, publisher: publisher) }
            }
            logger.info("stopping: no new jobs; finishing those in flight",
                        metadata: ["in_flight": "\(inFlight.withLock { $0 })", "deadline_s": "\(settings.shutdownDeadlineSeconds)"])
            await consumer.cancelConsumers()
            let deadline = ContinuousClock.now + .seconds(settings.shutdownDeadlineSeconds)
            while inFlight.withLock({ $0 }) > 0 {
                guard ContinuousClock.now < deadline else {
                    logger.warning("shutdown deadline passed; unfinished jobs go back to the queue",
                                   metadata: ["unfinished": "\(inFlight.withLock { $0 })"])
                    group.cancelAll()
                    break
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        await publisher.shutdown()
        await consumer.shutdown()
        logger.info("worker stopped")
    }

    /// Handles one delivery: runs the pipeline in a slot, publishes, then acks after the confirms.
    func process(_ delivery: Delivery, slots: Slots, consumer: AMQPClient, publisher: AMQPClient) async {
        inFlight.withLock { $0 += 1 }
        defer { inFlight.withLock { $0 -= 1 } }
        logger.debug("job started", metadata: [LogKey.jobID: "\(delivery.properties.messageID ?? "?")"])
        let plan = await withCheckedContinuation { continuation in
            pipelineQueue.async { continuation.resume(returning: self.handler.handle(delivery)) }
        }
        slots.release()
        var logger = self.logger
        logger[metadataKey: LogKey.jobID] = "\(plan.result?.jobID ?? delivery.properties.messageID ?? "?")"
        logger[metadataKey: LogKey.attempt] = "\(JobHandler.attempt(of: delivery))"
        if Task.isCancelled {
            logger.notice("job finished after the shutdown deadline; it is left for redelivery")
            return
        }
        do {
            try await withThrowingTaskGroup(of: (OutgoingMessage, PublishOutcome).self) { group in
                for message in plan.messages {
                    group.addTask { (message, try await publisher.publish(message)) }
                }
                for try await (message, outcome) in group {
                    if case .returned(let reason) = outcome {
                        logger.warning("no queue took a message; check the bindings",
                                       metadata: ["exchange": "\(message.exchange)", "routing_key": "\(message.routingKey)",
                                                  "reason": "\(reason)"])
                    }
                }
            }
        } catch {
            logger.error("could not publish the outcome; the job goes back to the queue",
                         metadata: [LogKey.error: "\(error)"])
            consumer.nack(delivery, requeue: true)
            return
        }
        consumer.ack(delivery)
        switch plan.disposition {
        case .answered:
            logger.info("job answered", metadata: [LogKey.status: "\(plan.result?.status ?? "?")",
                                                   "ms": "\(String(format: "%.1f", plan.result?.timings["total"] ?? 0))"])
        case .retry(let next):
            logger.notice("job failed for a passing reason; retrying later", metadata: ["next_attempt": "\(next)"])
        case .deadLettered:
            logger.warning("job dead-lettered", metadata: [
                LogKey.stage: "\(plan.result?.error?.stage ?? "?")", LogKey.error: "\(plan.result?.error?.message ?? "?")",
            ])
        }
    }
}

/// A counting semaphore for pipeline slots.
final class Slots: Sendable {
    private let state: Mutex<(free: Int, waiters: [CheckedContinuation<Void, Never>])>

    init(_ count: Int) { state = Mutex((count, [])) }

    func acquire() async {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state -> Bool in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume()
    }
}
