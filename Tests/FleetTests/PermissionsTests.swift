import Core
import Fleet
import Foundation
import Logging
import Messaging
import Synchronization
import Testing

/// The three users of deploy/rabbitmq/definitions.json, imported into the test broker: what the
/// kiosk user may not do, and a job graded end to end with each part under its own user.
@Suite("Least-privilege broker users", .serialized)
struct PermissionsTests {
    static let password = "test-\(UUID().uuidString.prefix(8))"

    /// Imports the definitions (users, permissions, topology) and gives the three users a password.
    static func importDefinitions() throws {
        try TestBroker.ctl(["import_definitions",
                            FleetHarness.repository.appendingPathComponent("deploy/rabbitmq/definitions.json").path])
        for user in ["gradeline-kiosk", "gradeline-worker", "gradeline-reader"] {
            try TestBroker.ctl(["change_password", user, password])
        }
    }

    /// The test broker's URL with `user`'s credentials.
    static func url(as user: String) throws -> String {
        var components = try #require(URLComponents(string: try TestBroker.url))
        components.user = user
        components.password = password
        return try #require(components.string)
    }

    /// The shipped topology's names, checked rather than declared (what a kiosk can do).
    static var checkingSettings: WorkerConfiguration {
        var settings = WorkerConfiguration()
        settings.topology.declares = false
        return settings
    }

    static var logger: Logger {
        var logger = Logger(label: "permissions-test")
        logger.logLevel = .critical
        return logger
    }

    /// The error a client of `user` meets when its setup does `setup`.
    static func setupError(as user: String, _ setup: @escaping AMQPClient.Setup) async throws -> String {
        var configuration = AMQPClient.Configuration(url: try AMQPURL(try url(as: user)), name: "permissions/\(user)")
        configuration.confirms = false
        let client = AMQPClient(configuration: configuration, logger: logger, setup: setup)
        defer { Task { await client.shutdown(deadline: .seconds(1)) } }
        do {
            // The refusal is what is tested, not the broker's speed: in a clean-clone run with the
            // cluster suite stopping nodes beside it, the test broker once took over 5 s to answer.
            try await client.waitUntilConnected(timeout: .seconds(15))
        } catch {
            return "\(error)"
        }
        return "connected"
    }

    @Test("the kiosk user publishes jobs, and cannot consume them, publish results or declare a queue")
    func kiosk() async throws {
        try Self.importDefinitions()
        let settings = Self.checkingSettings
        let kiosk = FleetClients.publisher(url: try AMQPURL(try Self.url(as: "gradeline-kiosk")), name: "permissions/kiosk",
                                           settings: settings, logger: Self.logger)
        try await kiosk.waitUntilConnected(timeout: .seconds(10))
        let job = Job(jobID: "permissions-\(UUID().uuidString.prefix(8))", kioskID: "kiosk-test",
                      submittedAt: "2026-12-01T08:00:00Z", device: nil,
                      images: [Job.Photo(side: .front, contentType: "image/png", data: Base64.encode(TestImages.png(seed: 3)))])
        #expect(try await kiosk.publish(try FleetClients.jobMessage(job, topology: settings.topology)) == .confirmed)

        // A result from a kiosk: the broker refuses it, and the publish fails instead of being
        // sent again on every reconnect.
        let forged = OutgoingMessage(exchange: settings.topology.resultsExchange, routingKey: "result.graded", body: Array("{}".utf8))
        await #expect(throws: AMQPError.self) { _ = try await kiosk.publish(forged) }
        await kiosk.shutdown(deadline: .seconds(1))

        let jobsQueue = settings.topology.jobsQueue
        let consume = try await Self.setupError(as: "gradeline-kiosk") { session throws(AMQPError) in
            try session.consume(queue: jobsQueue, prefetch: 1)
        }
        #expect(consume.contains("403") && consume.contains("ACCESS_REFUSED"), "consuming \(jobsQueue): \(consume)")
        let declare = try await Self.setupError(as: "gradeline-kiosk") { session throws(AMQPError) in
            try session.declareQueue("kiosk-own-queue")
        }
        #expect(declare.contains("403") && declare.contains("ACCESS_REFUSED"), "declaring a queue: \(declare)")
        // And the reader may not take jobs either.
        let reader = try await Self.setupError(as: "gradeline-reader") { session throws(AMQPError) in
            try session.consume(queue: jobsQueue, prefetch: 1)
        }
        #expect(reader.contains("403"), "the reader consuming \(jobsQueue): \(reader)")
    }

    @Test("a job goes from the kiosk user through a worker under its user to the reader user")
    func endToEnd() async throws {
        try Self.importDefinitions()
        let settings = Self.checkingSettings
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gradeline-permissions-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pipeline = directory.appendingPathComponent("pipeline.yaml")
        try FleetHarness.testPipeline.write(to: pipeline, atomically: true, encoding: .utf8)
        let workerSettings = directory.appendingPathComponent("worker.yaml")
        // The shipped topology names; the worker declares them (it may), under its own user.
        try "worker: {concurrency: 1, pipeline: \"\(pipeline.path)\"}\n".write(to: workerSettings, atomically: true, encoding: .utf8)

        let reader = FleetClients.resultListener(url: try AMQPURL(try Self.url(as: "gradeline-reader")), name: "permissions/reader",
                                                 settings: settings, logger: Self.logger)
        try await reader.waitUntilConnected(timeout: .seconds(10))
        let log = directory.appendingPathComponent("worker.log")
        let worker = try FleetHarness.launchWorker("permissions-worker", arguments: ["--config", workerSettings.path],
                                                   environment: ["GRADELINE_AMQP_URL": try Self.url(as: "gradeline-worker")], log: log)
        defer {
            if worker.isRunning { kill(worker.processIdentifier, SIGKILL) }
            worker.waitUntilExit()
        }

        let kiosk = FleetClients.publisher(url: try AMQPURL(try Self.url(as: "gradeline-kiosk")), name: "permissions/kiosk",
                                           settings: settings, logger: Self.logger)
        let photo = Base64.encode(TestImages.png(seed: 11))
        let job = Job(jobID: "permissions-e2e-\(UUID().uuidString.prefix(8))", kioskID: "kiosk-test",
                      submittedAt: "2026-12-01T08:00:00Z", device: nil,
                      images: [Job.Photo(side: .front, contentType: "image/png", data: photo),
                               Job.Photo(side: .back, contentType: "image/png", data: photo)])
        #expect(try await kiosk.publish(try FleetClients.jobMessage(job, topology: settings.topology)) == .confirmed)
        await kiosk.shutdown(deadline: .seconds(1))

        let answer = Mutex<GradingResult?>(nil)
        let listening = Task {
            for await delivery in reader.deliveries {
                reader.ack(delivery)
                if let result = try? GradingResult.parse(delivery.body), result.jobID == job.jobID {
                    answer.withLock { $0 = result }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while answer.withLock({ $0 == nil }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        await reader.shutdown(deadline: .seconds(1))
        listening.cancel()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let result = try #require(answer.withLock { $0 }, "no result for \(job.jobID); worker log:\n\(text.suffix(2000))")
        #expect(result.status == "graded", "status \(result.status): \(String(describing: result.error))")
        #expect(!text.contains("ACCESS_REFUSED"), "the worker was refused something:\n\(text.suffix(2000))")
    }
}
