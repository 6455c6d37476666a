import Core
import Dispatch
import Foundation
import Logging
import Messaging
import ServiceLifecycle
import UnixSignals
import Synchronization

/// A grading worker: a supervisor that owns the broker connections and every ack, with the
/// pipelines in child processes (`ChildPool`).
///
/// For each delivery it asks a child for a result, plans what to publish (`JobHandler`),
/// publishes with confirms, and only then acks. A child that crashes, hangs or bloats costs
/// only its own job. On SIGTERM or SIGINT it stops consuming and gives the jobs in flight
/// until the deadline; then it stops the children, leaves what is unfinished to the broker,
/// and exits, within the deadline plus two seconds whatever the broker is doing.
public final class WorkerService: ServiceLifecycle.Service {
    /// One loaded pipeline config and the children that run it. A reload (SIGHUP) makes a new
    /// generation for new jobs; the old one finishes the jobs it has, then stops.
    final class Generation: Sendable {
        let pool: ChildPool
        let handler: JobHandler
        /// Jobs handed to this generation and not yet acked or given back.
        let jobs = Mutex(0)

        init(pool: ChildPool, handler: JobHandler) {
            self.pool = pool
            self.handler = handler
        }
    }

    let settings: WorkerConfiguration
    let launch: ChildPool.Launch
    let logger: Logger
    /// Jobs between delivery and ack.
    private let inFlight = Mutex(0)
    /// When shutdown began; the deadline counts from here.
    private let shutdownStarted = Mutex<ContinuousClock.Instant?>(nil)
    /// Every generation not yet stopped, the current one last; the last-resort exit stops all.
    private let generations = Mutex<[Generation]>([])
    /// The config the worker starts with.
    private let initialPipeline: PipelineConfig

    /// What /health/ready reports.
    let readiness: Readiness

    public init(settings: WorkerConfiguration, pipeline: PipelineConfig, launch: ChildPool.Launch, logger: Logger,
                readiness: Readiness = Readiness()) {
        self.settings = settings
        self.readiness = readiness
        self.launch = launch
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(settings.workerID)"
        self.logger = logger
        initialPipeline = pipeline
    }

    func makeHandler(_ pipeline: PipelineConfig) -> JobHandler {
        JobHandler(pipeline: pipeline,
                   fingerprint: Fingerprint(config: pipeline.sha256, models: pipeline.modelHashes, workerVersion: Gradeline.version),
                   settings: settings)
    }

    func makePool() -> ChildPool {
        ChildPool(size: settings.concurrency, launch: launch, timeout: settings.jobTimeoutSeconds,
                  maxResidentBytes: settings.maxJobRSSBytes, logger: logger)
    }

    /// The generation new jobs go to.
    var current: Generation { generations.withLock { $0.last! } }

    public func run() async throws {
        let urls = try settings.brokerURLs()
        let url = urls[0]
        let topology = settings.topology
        let retryDelays = settings.retry.delaysMs
        let concurrency = settings.concurrency
        let pool = makePool()
        let handler = makeHandler(initialPipeline)
        generations.withLock { $0 = [Generation(pool: pool, handler: handler)] }
        // Loading the models can take a while; a SIGTERM meanwhile stops it and ends the run.
        let loading = ContinuousClock.now
        do {
            try await withGracefulShutdownHandler {
                try await pool.start()
                WorkerMetrics.modelsLoaded(in: loading.duration(to: .now))
                self.readiness.modelsLoaded()
            } onGracefulShutdown: {
                self.beginShutdown(deadline: self.settings.shutdownDeadlineSeconds)
                pool.stop()
            }
        } catch where Task.isShuttingDownGracefully {
            logger.info("stopped while starting")
            return
        }

        var consumerConfiguration = AMQPClient.Configuration(url: url, name: "\(settings.workerID)/consume")
        consumerConfiguration.confirms = false
        consumerConfiguration.alternates = Array(urls.dropFirst())
        consumerConfiguration.heartbeatSeconds = settings.heartbeatSeconds
        consumerConfiguration.onReconnect = { WorkerMetrics.reconnected("consume") }
        var publisherConfiguration = AMQPClient.Configuration(url: url, name: "\(settings.workerID)/publish")
        publisherConfiguration.heartbeatSeconds = settings.heartbeatSeconds
        publisherConfiguration.alternates = Array(urls.dropFirst())
        publisherConfiguration.onReconnect = { WorkerMetrics.reconnected("publish") }
        publisherConfiguration.renewAfterRefusal = true
        // Separate connections: when the broker blocks publishers, acks still flow.
        let consumer = AMQPClient(configuration: consumerConfiguration, logger: logger) { session throws(AMQPError) in
            try topology.declare(on: session, retryDelaysMs: retryDelays)
            // Twice the concurrency, so that the next job is already here when a child frees.
            try session.consume(queue: topology.jobsQueue, prefetch: 2 * concurrency)
            try session.consume(queue: topology.deadWatchQueue, prefetch: 2 * concurrency)
        }
        let publisher = AMQPClient(configuration: publisherConfiguration, logger: logger) { session throws(AMQPError) in
            try topology.declare(on: session, retryDelaysMs: retryDelays)
        }
        // Once draining, readiness says so first; until then the consumer consumes while connected.
        readiness.consumer { consumer.isConnected }
        // SIGHUP reloads the pipeline config (Run ignores the signal from the start, so that
        // one sent early cannot end the process).
        let reloads = Task { [self] in
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                await reload()
            }
        }
        defer { reloads.cancel() }
        logger.info("worker started", metadata: [
            "amqp.url": "\(urls.map(\.description).joined(separator: ","))", LogKey.queue: "\(topology.jobsQueue)", "concurrency": "\(concurrency)",
            "config.sha256": "\(handler.fingerprint.config)", "reload": "SIGHUP",
        ])

        let deadline = settings.shutdownDeadlineSeconds
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await delivery in consumer.deliveries.cancelOnGracefulShutdown() {
                    // A delivery whose connection is gone will be redelivered; starting it
                    // would only make a duplicate.
                    guard consumer.isCurrent(delivery) else {
                        logger.debug("dropped a delivery from a lost connection; the broker redelivers it")
                        continue
                    }
                    group.addTask { await self.process(delivery, consumer: consumer, publisher: publisher) }
                }
                logger.info("stopping: no new jobs; finishing those in flight",
                            metadata: ["in_flight": "\(inFlight.withLock { $0 })", "deadline_s": "\(deadline)"])
                consumer.stopConsuming()
                for generation in generations.withLock({ $0 }) { generation.pool.drain() }
                let end = shutdownStarted.withLock { $0 ?? .now } + .seconds(deadline)
                while inFlight.withLock({ $0 }) > 0, ContinuousClock.now < end {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                if inFlight.withLock({ $0 }) > 0 {
                    logger.warning("shutdown deadline passed; unfinished jobs go back to the queue",
                                   metadata: ["unfinished": "\(inFlight.withLock { $0 })"])
                }
                // Stops running pipelines; their jobs end abandoned and are left to the broker.
                for generation in generations.withLock({ $0 }) { generation.pool.stop() }
                await publisher.shutdown(deadline: .zero)
            }
        } onGracefulShutdown: {
            self.beginShutdown(deadline: deadline)
        }
        for generation in generations.withLock({ $0 }) { generation.pool.stop() }
        await publisher.shutdown(deadline: .seconds(1))
        await consumer.shutdown(deadline: .seconds(1))
        logger.info("worker stopped")
    }

    /// Loads the pipeline config again (SIGHUP): validates it, runs its canaries, and starts
    /// children on it. If all that succeeds, new jobs go to them and the old children finish
    /// the jobs they have, then stop. If anything fails, the old config keeps serving and the
    /// log says why. `gradeline_build_info` and each result's fingerprint show the config live.
    func reload() async {
        guard shutdownStarted.withLock({ $0 == nil }) else { return }
        let file = settings.pipeline
        logger.notice("reloading the pipeline config", metadata: ["file": "\(file)"])
        let config: PipelineConfig
        do {
            config = try PipelineConfig.load(file: file)
        } catch {
            logger.error("reload refused: the config is wrong; the old one keeps serving",
                         metadata: [LogKey.error: "\(error.description)"])
            return
        }
        if config.canaries != nil {
            do {
                if let mismatch = try Canaries.verify(config).lazy.compactMap(\.mismatch).first {
                    logger.error("reload refused: a canary job differs; the old config keeps serving",
                                 metadata: [LogKey.error: "\(mismatch)"])
                    return
                }
            } catch {
                logger.error("reload refused: the canaries cannot run; the old config keeps serving",
                             metadata: [LogKey.error: "\(error)"])
                return
            }
        }
        let pool = makePool()
        do {
            try await pool.start()
        } catch {
            pool.stop()
            logger.error("reload refused: the new pipeline processes did not start; the old config keeps serving",
                         metadata: [LogKey.error: "\(error)"])
            return
        }
        let next = Generation(pool: pool, handler: makeHandler(config))
        guard let old = generations.withLock({ generations -> Generation? in
            // A shutdown that began meanwhile keeps the old generation; the new one is not used.
            guard shutdownStarted.withLock({ $0 == nil }) else { return nil }
            defer { generations.append(next) }
            return generations.last
        }) else {
            pool.stop()
            return
        }
        WorkerMetrics.configChanged(from: old.handler.fingerprint.config, to: next.handler.fingerprint.config)
        logger.notice("reloaded: new jobs use the new config; jobs in flight finish on the old one",
                      metadata: ["config.sha256": "\(next.handler.fingerprint.config)",
                                 "previous_config.sha256": "\(old.handler.fingerprint.config)"])
        // The old children finish what they have, then stop.
        while old.jobs.withLock({ $0 }) > 0 {
            try? await Task.sleep(for: .milliseconds(50))
        }
        old.pool.stop()
        generations.withLock { $0.removeAll { $0 === old } }
    }

    /// Records when shutdown began and arms a last-resort exit at the deadline plus 1.5 s, on
    /// a thread of its own, so that the deadline holds even if something below is stuck.
    private func beginShutdown(deadline: Double) {
        let first = shutdownStarted.withLock { started -> Bool in
            defer { if started == nil { started = .now } }
            return started == nil
        }
        guard first else { return }
        readiness.draining()
        let logger = logger
        let thread = Thread { [self] in
            Thread.sleep(forTimeInterval: deadline + 1.5)
            logger.error("shutdown overran its deadline; exiting now")
            for generation in self.generations.withLock({ $0 }) { generation.pool.stop() }
            // _exit, not exit: atexit handlers could wait on the very thing that is stuck.
            _exit(0)
        }
        thread.name = "gradeline-shutdown-deadline"
        thread.start()
    }

    /// Handles one delivery: a result from a child, then publish, then ack after the confirms.
    func process(_ delivery: Delivery, consumer: AMQPClient, publisher: AMQPClient) async {
        let received = ContinuousClock.now
        let generation = current
        let (pool, handler) = (generation.pool, generation.handler)
        generation.jobs.withLock { $0 += 1 }
        defer { generation.jobs.withLock { $0 -= 1 } }
        WorkerMetrics.inFlight(inFlight.withLock { $0 += 1; return $0 })
        defer { WorkerMetrics.inFlight(inFlight.withLock { $0 -= 1; return $0 }) }
        WorkerMetrics.queueWait(submittedAt: JobHandler.submittedAt(in: delivery.body), deliveredAt: Date())
        let delivery = JobHandler.withTraceparent(delivery)
        var logger = self.logger
        logger[metadataKey: LogKey.jobID] = "\(delivery.properties.messageID ?? "?")"
        logger[metadataKey: LogKey.traceparent] = "\(JobHandler.traceparent(of: delivery) ?? "")"
        logger[metadataKey: LogKey.attempt] = "\(handler.attempt(of: delivery))"

        let plan: JobHandler.Plan
        var finishedAt = ContinuousClock.now
        if delivery.exchange == settings.topology.deadExchange {
            plan = handler.plan(forDeadLettered: delivery)
        } else {
            let job = ChildJob(body: delivery.body, messageID: delivery.properties.messageID,
                               attempt: handler.attempt(of: delivery), redelivered: handler.redelivered(delivery),
                               stillWanted: { consumer.isCurrent(delivery) })
            let startLogger = logger
            switch await pool.run(job, onStart: { startLogger.debug("job started") }) {
            case .abandoned:
                if consumer.isCurrent(delivery) {
                    logger.notice("job not finished before the shutdown deadline; it goes back to the queue")
                    consumer.nack(delivery, requeue: true)
                } else {
                    logger.notice("job not run: its connection was lost, and the broker delivers it again")
                }
                return
            case .died(let failure):
                finishedAt = .now
                plan = handler.plan(for: delivery, workerFailure: failure)
            case .result(let result, let finished):
                finishedAt = finished
                plan = handler.plan(for: delivery, result: result)
            }
        }
        if let id = plan.result?.jobID { logger[metadataKey: LogKey.jobID] = "\(id)" }
        if await publish(plan, for: delivery, consumer: consumer, publisher: publisher, finishedAt: finishedAt, logger: logger) {
            WorkerMetrics.record(plan, jobTime: received.duration(to: .now))
        }
    }

    /// Publishes a plan's messages, then acks; or leaves the delivery to the broker when a
    /// message did not reach a queue, so that nothing is lost. True when the delivery was acked.
    ///
    /// A message the broker refuses (a nack: a quorum queue that has lost its majority, or a full
    /// queue with `reject-publish`) is published again, alone, after a wait that grows (0.2 s
    /// doubling to 5 s, each cut by up to half at random), while the delivery is still ours and
    /// no shutdown began, for up to `refused_publish_seconds`; then the job is rejected, so that
    /// the work queue dead-letters it. Putting the job back instead would run it again at once, in
    /// a loop as fast as the pipeline, and each turn would count toward the work queue's delivery
    /// limit although the job never failed.
    private func publish(_ plan: JobHandler.Plan, for delivery: Delivery, consumer: AMQPClient, publisher: AMQPClient,
                         finishedAt: ContinuousClock.Instant, logger: Logger) async -> Bool {
        var unroutable: [String] = []
        var pending = plan.messages
        var refusals = 0
        let firstTry = ContinuousClock.now
        while !pending.isEmpty {
            var refused: [OutgoingMessage] = []
            do {
                try await withThrowingTaskGroup(of: (OutgoingMessage, Result<PublishOutcome, AMQPError>).self) { group in
                    for message in pending {
                        group.addTask {
                            do { return (message, .success(try await publisher.publish(message))) }
                            catch let error as AMQPError where error.code == .notConfirmed { return (message, .failure(error)) }
                        }
                    }
                    for try await (message, outcome) in group {
                        switch outcome {
                        case .failure: refused.append(message)
                        case .success(.confirmed): break
                        case .success(.returned(let reason)):
                            logger.warning("no queue took a message; check the bindings",
                                           metadata: ["exchange": "\(message.exchange)", "routing_key": "\(message.routingKey)",
                                                      "reason": "\(reason)"])
                            // A result nobody listens to is the listeners' business; a retry or dead
                            // letter that reached no queue would be a lost job.
                            if message.exchange != settings.topology.resultsExchange { unroutable.append(message.routingKey) }
                        }
                    }
                }
            } catch let error as AMQPError where error.code == .unencodable {
                logger.error("an outgoing message cannot be encoded; the job goes to the dead-letter queue as it came",
                             metadata: [LogKey.error: "\(error)"])
                consumer.nack(delivery, requeue: false)
                return false
            } catch {
                logger.error("could not publish the outcome; the job goes back to the queue", metadata: [LogKey.error: "\(error)"])
                if consumer.isCurrent(delivery) { consumer.nack(delivery, requeue: true) }
                return false
            }
            // A retry or dead letter that reached no queue puts the job back anyway (below).
            pending = unroutable.isEmpty ? refused : []
            guard !pending.isEmpty else { break }
            refusals += 1
            if ContinuousClock.now - firstTry >= .seconds(settings.refusedPublishSeconds) {
                logger.error("the broker refused the outcome for refused_publish_seconds; the job goes to the dead-letter queue",
                             metadata: ["refusals": "\(refusals)", "routing_keys": "\(pending.map(\.routingKey))"])
                if consumer.isCurrent(delivery) { consumer.nack(delivery, requeue: false) }
                return false
            }
            let delay = AMQPClient.backoff(after: refusals - 1, initial: 0.2, max: 5)
            logger.error("the broker refused the outcome; publishing it again", metadata: [
                "refusals": "\(refusals)", "messages": "\(pending.count)", "retry_in_s": "\(String(format: "%.2f", delay))",
                "routing_keys": "\(pending.map(\.routingKey))",
            ])
            try? await Task.sleep(for: .seconds(delay))
            // Checked after the wait: a delivery lost meanwhile comes again, and its outcome with it.
            guard consumer.isCurrent(delivery), shutdownStarted.withLock({ $0 == nil }), !Task.isCancelled else {
                logger.error("the broker refused the outcome, and the job is no longer ours to finish; the broker delivers it again",
                             metadata: ["refusals": "\(refusals)"])
                if consumer.isCurrent(delivery) { consumer.nack(delivery, requeue: true) }
                return false
            }
        }
        guard unroutable.isEmpty else {
            logger.error("a retry or dead letter reached no queue; the job stays in the work queue",
                         metadata: ["routing_keys": "\(unroutable)"])
            // Give the operator a moment before the broker delivers it again.
            try? await Task.sleep(for: .seconds(1))
            consumer.nack(delivery, requeue: true)
            return false
        }
        consumer.ack(delivery)
        let ackMs = String(format: "%.1f", (ContinuousClock.now - finishedAt).seconds * 1000)
        switch plan.disposition {
        case .answered:
            logger.info("job answered", metadata: [LogKey.status: "\(plan.result?.status ?? "?")",
                                                   "ms": "\(String(format: "%.1f", plan.result?.timings["total"] ?? 0))",
                                                   "ack_ms": "\(ackMs)"])
        case .retry(let next):
            logger.notice("job failed for a passing reason; retrying later", metadata: ["next_attempt": "\(next)"])
        case .crashed(let count):
            logger.warning("job crashed its pipeline process; it goes back to the queue", metadata: ["crashes": "\(count)"])
        case .deadLettered:
            logger.warning("job dead-lettered", metadata: [
                LogKey.stage: "\(plan.result?.error?.stage ?? "?")", LogKey.error: "\(plan.result?.error?.message ?? "?")",
                "ack_ms": "\(ackMs)",
            ])
        }
        return true
    }
}
