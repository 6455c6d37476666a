import Core
import Fleet
import Foundation
import Logging
import Messaging
import Synchronization
import Testing

/// The broker that `scripts/test.sh` starts. Tests that need it fail, never skip, without it.
enum TestBroker {
    static var url: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["GRADELINE_TEST_AMQP_URL"] else {
                throw HarnessError("GRADELINE_TEST_AMQP_URL is not set: these tests need the RabbitMQ node that "
                    + "scripts/test.sh starts (or: eval \"$(bash scripts/rabbitmq.sh env test 5689)\" after "
                    + "bash scripts/rabbitmq.sh start test 5689, then export GRADELINE_TEST_AMQP_URL=$GRADELINE_AMQP_URL)")
            }
            return url
        }
    }

    /// Stops and starts the broker application, dropping every connection; queues survive.
    static func restart() throws {
        try ctl(["stop_app"])
        try ctl(["start_app"])
    }

    /// Runs rabbitmqctl against the test node.
    static func ctl(_ arguments: [String]) throws {
        let environment = ProcessInfo.processInfo.environment
        guard let ctl = environment["GRADELINE_RABBITMQCTL"], let node = environment["GRADELINE_RABBITMQ_NODE"],
              let home = environment["GRADELINE_RABBITMQ_HOME"] else {
            throw HarnessError("GRADELINE_RABBITMQCTL, GRADELINE_RABBITMQ_NODE and GRADELINE_RABBITMQ_HOME are needed to control the broker")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ctl)
        process.arguments = ["-n", node] + arguments
        process.environment = environment.merging(["HOME": home]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("rabbitmqctl \(arguments.joined(separator: " ")) failed") }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A private fleet on the test broker: its own queue names, worker processes, a publisher,
/// and durable taps on the results and the dead-letter queue.
final class FleetHarness: Sendable {
    let id: String
    let directory: URL
    let settings: WorkerConfiguration
    let settingsFile: URL
    let pipelineFile: URL
    let publisher: AMQPClient
    let resultTap: AMQPClient
    let deadTap: AMQPClient
    private let results = Mutex<[GradingResult]>([])
    private let deadLetters = Mutex<[Delivery]>([])
    private let workers = Mutex<[String: Process]>([:])
    private let consumers = Mutex<[Task<Void, Never>]>([])

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func binary(_ name: String) -> String {
        let folder = ProcessInfo.processInfo.environment["GRADELINE_BIN"] ?? ".build/debug"
        return repository.appendingPathComponent(folder).appendingPathComponent(name).path
    }

    /// The pipeline the fleet tests run: small, with a fault-injection step.
    static let testPipeline = """
        main: [decode, preprocess]
        pipelines:
          decode:
            - decode_image
            - inject_fault
          preprocess:
            - resize: {width: 32, height: 64}
            - to_tensor
            - normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
        """

    /// `pipeline` is YAML text, or `@path` for a config file to use where it is (so that its
    /// relative model paths resolve).
    /// `brokerURL` replaces the test broker (the cluster's comma-separated URLs, say).
    init(pipeline: String = FleetHarness.testPipeline, concurrency: Int = 1, retryDelaysMs: [Int] = [200, 400],
         deliveryLimit: Int = 5, maxMessageBytes: Int = 8 << 20, shutdownDeadlineSeconds: Double = 20,
         jobTimeoutSeconds: Double = 60, maxCrashes: Int = 2, heartbeatSeconds: Int = 30,
         maxJobRSSBytes: Int = 4 << 30, brokerURL: String? = nil, refusedPublishSeconds: Double = 300) async throws {
        let url = try brokerURL ?? TestBroker.url
        guard FileManager.default.isExecutableFile(atPath: Self.binary("gradeline-worker")) else {
            throw HarnessError("\(Self.binary("gradeline-worker")) is missing: run swift build first")
        }
        id = "t\(UUID().uuidString.prefix(8).lowercased())"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gradeline-\(id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var settings = WorkerConfiguration()
        settings.amqpURL = url
        settings.concurrency = concurrency
        settings.retry.delaysMs = retryDelaysMs
        settings.maxMessageBytes = maxMessageBytes
        settings.shutdownDeadlineSeconds = shutdownDeadlineSeconds
        for keyPath in [\Topology.jobsExchange, \.jobsQueue, \.resultsExchange, \.deadExchange, \.deadQueue, \.retryQueuePrefix] {
            settings.topology[keyPath: keyPath] = "\(id).\(settings.topology[keyPath: keyPath])"
        }
        settings.topology.deliveryLimit = deliveryLimit
        self.settings = settings
        if pipeline.hasPrefix("@") {
            pipelineFile = URL(fileURLWithPath: String(pipeline.dropFirst()))
        } else {
            pipelineFile = directory.appendingPathComponent("pipeline.yaml")
            try pipeline.write(to: pipelineFile, atomically: true, encoding: .utf8)
        }
        settingsFile = directory.appendingPathComponent("worker.yaml")
        let topology = settings.topology
        try """
            amqp: {url: "\(url)", heartbeat_seconds: \(heartbeatSeconds)}
            worker: {concurrency: \(concurrency), pipeline: "\(pipelineFile.path)", shutdown_deadline_seconds: \(shutdownDeadlineSeconds), max_message_bytes: \(maxMessageBytes), job_timeout_seconds: \(jobTimeoutSeconds), max_crashes: \(maxCrashes), max_job_rss_bytes: \(maxJobRSSBytes), refused_publish_seconds: \(refusedPublishSeconds)}
            retry: {delays_ms: \(retryDelaysMs), jitter: 0.2}
            topology: {jobs_exchange: \(topology.jobsExchange), jobs_queue: \(topology.jobsQueue), results_exchange: \(topology.resultsExchange), dead_exchange: \(topology.deadExchange), dead_queue: \(topology.deadQueue), retry_queue_prefix: \(topology.retryQueuePrefix), delivery_limit: \(deliveryLimit)}
            """.write(to: settingsFile, atomically: true, encoding: .utf8)

        let amqpURL = try settings.brokerURLs()[0]
        var logger = Logger(label: "fleet-test")
        logger.logLevel = .critical
        publisher = FleetClients.publisher(url: amqpURL, name: "\(id)/publish", settings: settings, logger: logger)
        // Durable taps, so that what is published while the broker restarts is not lost.
        var tapConfiguration = AMQPClient.Configuration(url: amqpURL, name: "\(id)/results")
        tapConfiguration.alternates = settings.alternates(besides: amqpURL)
        tapConfiguration.confirms = false
        let delays = retryDelaysMs
        let resultsQueue = "\(id).results-tap"
        resultTap = AMQPClient(configuration: tapConfiguration, logger: logger) { session throws(AMQPError) in
            try topology.declare(on: session, retryDelaysMs: delays)
            // Quorum, so that on a cluster the tap outlives the loss of any one node.
            try session.declareQueue(resultsQueue, arguments: ["x-queue-type": .string("quorum")])
            try session.bind(queue: resultsQueue, exchange: topology.resultsExchange, routingKey: "result.*")
            try session.consume(queue: resultsQueue, prefetch: 100)
        }
        tapConfiguration.name = "\(id)/dead"
        deadTap = AMQPClient(configuration: tapConfiguration, logger: logger) { session throws(AMQPError) in
            try topology.declare(on: session, retryDelaysMs: delays)
            try session.consume(queue: topology.deadQueue, prefetch: 100)
        }
        try await publisher.waitUntilConnected(timeout: .seconds(20))
        try await resultTap.waitUntilConnected(timeout: .seconds(20))
        try await deadTap.waitUntilConnected(timeout: .seconds(20))
        let resultTask = Task { [self] in
            for await delivery in resultTap.deliveries {
                resultTap.ack(delivery)
                if let result = try? GradingResult.parse(delivery.body) { results.withLock { $0.append(result) } }
            }
        }
        let deadTask = Task { [self] in
            for await delivery in deadTap.deliveries {
                deadTap.ack(delivery)
                deadLetters.withLock { $0.append(delivery) }
            }
        }
        consumers.withLock { $0 = [resultTask, deadTask] }
    }

    /// Runs `body` with a new harness and always stops its workers and clients afterwards.
    static func with(pipeline: String = FleetHarness.testPipeline, concurrency: Int = 1, retryDelaysMs: [Int] = [200, 400],
                     deliveryLimit: Int = 5, maxMessageBytes: Int = 8 << 20, shutdownDeadlineSeconds: Double = 20,
                     jobTimeoutSeconds: Double = 60, maxCrashes: Int = 2, heartbeatSeconds: Int = 30,
                     maxJobRSSBytes: Int = 4 << 30, brokerURL: String? = nil, refusedPublishSeconds: Double = 300,
                     _ body: (FleetHarness) async throws -> Void) async throws {
        let harness = try await FleetHarness(pipeline: pipeline, concurrency: concurrency, retryDelaysMs: retryDelaysMs,
                                             deliveryLimit: deliveryLimit, maxMessageBytes: maxMessageBytes,
                                             shutdownDeadlineSeconds: shutdownDeadlineSeconds,
                                             jobTimeoutSeconds: jobTimeoutSeconds, maxCrashes: maxCrashes,
                                             heartbeatSeconds: heartbeatSeconds, maxJobRSSBytes: maxJobRSSBytes,
                                             brokerURL: brokerURL, refusedPublishSeconds: refusedPublishSeconds)
        do {
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    // MARK: Workers

    /// Starts `gradeline-worker run` as a separate process named `name`.
    /// `amqpURL` replaces the settings file's broker (to go through a `TCPProxy`, say).
    /// `environment` adds variables (GRADELINE_LOG_FORMAT, say).
    @discardableResult
    func startWorker(_ name: String, concurrency: Int? = nil, pipeline: String? = nil, amqpURL: String? = nil,
                     environment extra: [String: String] = [:]) throws -> Process {
        var arguments = ["--config", settingsFile.path]
        if let concurrency { arguments += ["--concurrency", "\(concurrency)"] }
        if let pipeline { arguments += ["--pipeline", pipeline] }
        var environment = ["GRADELINE_LOG_LEVEL": "debug"]
        environment["GRADELINE_AMQP_URL"] = amqpURL
        let process = try Self.launchWorker(name, arguments: arguments, environment: environment.merging(extra) { $1 },
                                            log: directory.appendingPathComponent("\(name).log"))
        workers.withLock { $0[name] = process }
        return process
    }

    /// `gradeline-worker run ARGUMENTS` from the repository, as worker `name`, with its output
    /// in `log`, the metrics port off unless `environment` sets one, and `environment` added.
    static func launchWorker(_ name: String, arguments: [String], environment extra: [String: String], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary("gradeline-worker"))
        process.arguments = ["run"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GRADELINE_WORKER_ID"] = name
        environment["GRADELINE_METRICS_PORT"] = "0"  // many workers run at once; a test that wants the port sets one
        environment["GRADELINE_AMQP_URL"] = nil  // the settings file names the broker, unless `environment` does
        environment.merge(extra) { $1 }
        process.environment = environment
        process.currentDirectoryURL = repository
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    func worker(_ name: String) -> Process? { workers.withLock { $0[name] } }

    /// The processes `pid` started, from every one of its threads (the supervisor starts its
    /// pipeline processes from several).
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0) }
        }
    }

    /// Starts worker `name`, submits `job`, and returns once the job is running in it.
    func startWorker(_ name: String, running job: Job) async throws -> Process {
        let worker = try startWorker(name)
        try await waitForLog(name, containing: "connected to the broker", count: 2)
        try await submit([job])
        try await waitForLog(name, containing: "job started")
        return worker
    }

    /// Sends SIGTERM to `worker` and waits for it to exit; returns how long that took.
    func stopGracefully(_ worker: Process) -> Duration {
        let signalled = ContinuousClock.now
        worker.terminate()
        worker.waitUntilExit()
        return ContinuousClock.now - signalled
    }

    /// Starts a fresh worker named `name` and returns `job`'s first result: what a stopped
    /// worker left unfinished must still be answered.
    func resultFromNextWorker(for job: Job, name: String = "next") async throws -> GradingResult? {
        try startWorker(name)
        return try await results(for: [job.jobID], timeout: .seconds(60))[job.jobID]
    }

    /// The worker's log, for failure messages.
    func log(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    /// Waits until the worker's log contains `text` at least `count` times.
    func waitForLog(_ name: String, containing text: String, count: Int = 1, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while log(name).components(separatedBy: text).count - 1 < count {
            guard ContinuousClock.now < deadline else {
                throw HarnessError("worker \(name) never logged '\(text)'; its log:\n\(log(name).suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Stops every worker still running (SIGKILL) and the clients.
    func stop() async {
        for process in workers.withLock({ Array($0.values) }) where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        await publisher.shutdown(deadline: .seconds(1))
        await resultTap.shutdown(deadline: .seconds(1))
        await deadTap.shutdown(deadline: .seconds(1))
        consumers.withLock { $0.forEach { $0.cancel() } }
    }

    // MARK: Jobs and results

    /// A job of small generated photos; `fault` goes to device.inject_fault.
    func job(_ name: String, fault: String? = nil, sides: [Side] = [.front, .back]) -> Job {
        let photo = TestImages.png(seed: name.utf8.reduce(UInt64(7)) { $0 &* 31 &+ UInt64($1) })
        return Job(jobID: "\(id)-\(name)", kioskID: "kiosk-test", submittedAt: "2026-11-28T08:00:00Z",
                   device: fault.map { ["inject_fault": .string($0)] },
                   images: sides.map { Job.Photo(side: $0, contentType: "image/png", data: Base64.encode(photo)) })
    }

    func submit(_ jobs: [Job]) async throws {
        for job in jobs {
            let outcome = try await publisher.publish(try FleetClients.jobMessage(job, topology: settings.topology))
            #expect(outcome == .confirmed)
        }
    }

    /// Publishes a raw body to the jobs exchange, as a broken kiosk might.
    func submitRaw(_ body: [UInt8], messageID: String) async throws {
        _ = try await publisher.publish(OutgoingMessage(
            exchange: settings.topology.jobsExchange, routingKey: "job.broken", body: body,
            properties: MessageProperties(contentType: "application/json", messageID: messageID)))
    }

    var allResults: [GradingResult] { results.withLock { $0 } }
    var allDeadLetters: [Delivery] { deadLetters.withLock { $0 } }

    /// Waits until every job id has at least one result; returns the first result of each.
    func results(for jobIDs: [String], timeout: Duration = .seconds(60)) async throws -> [String: GradingResult] {
        let deadline = ContinuousClock.now + timeout
        while true {
            var first: [String: GradingResult] = [:]
            for result in allResults where first[result.jobID] == nil { first[result.jobID] = result }
            let missing = jobIDs.filter { first[$0] == nil }
            if missing.isEmpty { return first }
            guard ContinuousClock.now < deadline else {
                let logs = workers.withLock { Array($0.keys) }.sorted().map { "--- \($0):\n\(log($0).suffix(1500))" }
                throw HarnessError("no result for \(missing) within \(timeout)\n\(logs.joined(separator: "\n"))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// What became of the jobs a test submitted, by job id.
    struct Ledger: CustomStringConvertible {
        var submitted: Int
        var answered: Int
        /// Submitted, with no result.
        var lost: [String]
        /// Answered more than once.
        var duplicated: [String]
        /// Results for ids nobody submitted.
        var unexpected: [String]

        var description: String {
            "submitted \(submitted), answered \(answered), lost \(lost.count), duplicated \(duplicated.count), unexpected \(unexpected.count)"
                + (lost.isEmpty ? "" : "; lost: \(lost.prefix(10))")
        }
    }

    /// The ledger of `jobIDs` against every result seen so far.
    func ledger(_ jobIDs: [String]) -> Ledger {
        let submitted = Set(jobIDs)
        var counts: [String: Int] = [:]
        for result in allResults { counts[result.jobID, default: 0] += 1 }
        return Ledger(submitted: submitted.count, answered: submitted.filter { counts[$0] != nil }.count,
                      lost: submitted.filter { counts[$0] == nil }.sorted(),
                      duplicated: counts.filter { $0.value > 1 && submitted.contains($0.key) }.keys.sorted(),
                      unexpected: counts.keys.filter { !submitted.contains($0) }.sorted())
    }

    /// Waits until every job has a result, then returns the ledger, expecting nothing lost.
    func settle(_ jobs: [Job], timeout: Duration = .seconds(90)) async throws -> Ledger {
        _ = try await results(for: jobs.map(\.jobID), timeout: timeout)
        let ledger = ledger(jobs.map(\.jobID))
        #expect(ledger.lost.isEmpty, "\(ledger)")
        return ledger
    }

    /// Waits until `count` dead letters arrived.
    func deadLetters(count: Int, timeout: Duration = .seconds(30)) async throws -> [Delivery] {
        let deadline = ContinuousClock.now + timeout
        while allDeadLetters.count < count {
            guard ContinuousClock.now < deadline else {
                throw HarnessError("\(allDeadLetters.count) dead letters within \(timeout), expected \(count)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return allDeadLetters
    }
}

/// Small deterministic PNGs, so that fleet tests spend their time in the fleet.
enum TestImages {
    static func png(seed: UInt64, width: Int = 48, height: Int = 96) -> [UInt8] {
        var state = seed &+ 1
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for index in pixels.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            pixels[index] = UInt8(truncatingIfNeeded: state >> 56) / 2 + UInt8(index % 97)
        }
        return try! PNG.encode(Image(width: width, height: height, format: .rgb8, pixels: pixels))
    }
}
