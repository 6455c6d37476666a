import Core
import Fleet
import Foundation
import Messaging
import Synchronization
import Testing

extension BrokerSuites {
/// The fleet against a real RabbitMQ that the test command starts. They run one at a time,
/// since one of them restarts the broker.
@Suite("Fleet end to end, against a real RabbitMQ", .serialized)
struct FleetEndToEndTests {
    @Test("submitted jobs are graded, with results matching the pipeline run locally")
    func gradedLikeLocal() async throws {
        try await FleetHarness.with(pipeline: "@" + FleetHarness.repository.appendingPathComponent("config/pipeline.yaml").path) { harness in
            try harness.startWorker("w1")
            let samples = FleetHarness.repository.appendingPathComponent("samples").path
            let jobs = try FleetClients.jobs(fromFiles: ["phone-01-front", "phone-01-back", "phone-02-front"].map {
                "\(samples)/\($0).png"
            }, kioskID: "kiosk-e2e", prefix: "\(harness.id)-")
            try await harness.submit(jobs)
            // The shipped config has canaries, which the worker runs before it consumes: three
            // jobs that take half a minute in a debug build.
            let results = try await harness.results(for: jobs.map(\.jobID), timeout: .seconds(240))

            let local = try PipelineConfig.load(file: harness.pipelineFile.path)
            for job in jobs {
                var request = try job.request()
                let outcome = local.run(&request)
                let result = try #require(results[job.jobID])
                #expect(result.status == outcome.status)
                #expect(result.workerID == "w1")
                #expect(result.fingerprint.config == local.sha256)
                #expect(result.trace.map(\.function) == request.trace.map(\.function))
                #expect(result.trace.flatMap(\.outputs).map(\.sha256) == request.trace.flatMap(\.outputs).map(\.sha256))
            }
        }
    }

    @Test("two workers share one queue and every job is answered exactly once")
    func twoWorkersShareTheQueue() async throws {
        try await FleetHarness.with { harness in
            try harness.startWorker("w1")
            try harness.startWorker("w2")
            let jobs = (0..<12).map { harness.job("share-\($0)", fault: "sleep:150") }
            try await harness.submit(jobs)
            let results = try await harness.results(for: jobs.map(\.jobID))
            #expect(results.values.allSatisfy { $0.status == "graded" })
            #expect(Set(results.values.map(\.workerID)) == ["w1", "w2"])
            try await Task.sleep(for: .milliseconds(300))  // room for any duplicate to show up
            #expect(harness.allResults.count == jobs.count, "\(harness.allResults.map(\.jobID))")
        }
    }

    @Test("a worker killed with SIGKILL mid-job loses nothing: its jobs are redelivered")
    func sigkillLosesNothing() async throws {
        try await FleetHarness.with { harness in
            try harness.startWorker("doomed")
            try await harness.waitForLog("doomed", containing: "connected to the broker")
            let jobs = (0..<3).map { harness.job("kill-\($0)", fault: "sleep:1500") }
            try await harness.submit(jobs)
            try await harness.waitForLog("doomed", containing: "job started")  // mid-job
            let doomed = try #require(harness.worker("doomed"))
            kill(doomed.processIdentifier, SIGKILL)
            doomed.waitUntilExit()
            try harness.startWorker("survivor")
            let results = try await harness.results(for: jobs.map(\.jobID))
            #expect(results.values.allSatisfy { $0.status == "graded" && $0.workerID == "survivor" })
            #expect(results.values.contains { $0.redelivered }, "the job in flight comes back marked redelivered")
        }
    }

    @Test("a passing failure is retried with backoff, then dead-lettered with its context")
    func retriesThenDeadLetters() async throws {
        try await FleetHarness.with(retryDelaysMs: [200, 400]) { harness in
            try harness.startWorker("w1")
            try await harness.waitForLog("w1", containing: "connected to the broker")
            let flaky = harness.job("flaky", fault: "retriable")
            let recovers = harness.job("recovers", fault: "retriable_until:2")
            let broken = harness.job("broken", fault: "fatal")
            let start = ContinuousClock.now
            try await harness.submit([flaky, recovers, broken])
            let results = try await harness.results(for: [flaky, recovers, broken].map(\.jobID))
            let elapsed = start.duration(to: .now)

            let failed = try #require(results[flaky.jobID])
            #expect(failed.status == "failed")
            #expect(failed.attempt == 3)
            #expect(failed.error?.retriable == true)
            #expect(failed.error?.stage == "decode/inject_fault")
            // Two waits of 200 and 400 ms, each jittered down by at most 20%.
            #expect(elapsed >= .milliseconds(480), "retries came too fast: \(elapsed)")

            #expect(results[recovers.jobID]?.status == "graded")
            #expect(results[recovers.jobID]?.attempt == 2)
            #expect(results[broken.jobID]?.status == "failed")
            #expect(results[broken.jobID]?.attempt == 1)

            let dead = try await harness.deadLetters(count: 2)
            let flakyDead = try #require(dead.first { $0.properties.headers[Headers.jobID] == .string(flaky.jobID) })
            #expect(flakyDead.properties.headers[Headers.attempt] == .int(3))
            #expect(flakyDead.properties.headers[Headers.errorStage] == .string("decode/inject_fault"))
            #expect(flakyDead.properties.headers[Headers.errorCode] == .string("resource.exhausted"))
            guard case .string(let trace)? = flakyDead.properties.headers[Headers.trace] else {
                Issue.record("the dead letter carries no trace")
                return
            }
            let entries = try JSONDecoder().decode([TraceEntry].self, from: Data(trace.utf8))
            #expect(entries.last?.function == "inject_fault")
            #expect(try Job.parse(flakyDead.body).jobID == flaky.jobID, "the dead letter keeps the original job")
            #expect(dead.contains { $0.properties.headers[Headers.jobID] == .string(broken.jobID) })
        }
    }

    @Test("each bad message gets a clear failed result and a dead-letter copy, and the worker keeps serving")
    func badMessages() async throws {
        try await FleetHarness.with(maxMessageBytes: 100_000) { harness in
            try harness.startWorker("w1")
            let good = harness.job("good")
            var noImages = harness.job("no-images")
            noImages.images = []
            var gif = harness.job("gif")
            gif.images[0].contentType = "image/gif"
            var badBase64 = harness.job("bad-base64")
            badBase64.images[1].data = "not base64!"
            let encode = { (job: Job) in Array(try JSONEncoder().encode(job)) }
            let cases: [(id: String, body: [UInt8], code: String, resultID: String)] = [
                ("m-json", Array("{\"job_id\": ".utf8), "job.not_json", "m-json"),
                ("m-schema", Array("{\"schema\": \"gradeline.job/1\", \"kiosk_id\": \"k\"}".utf8), "job.schema_violation", "m-schema"),
                ("m-base64", try encode(badBase64), "job.bad_base64", badBase64.jobID),
                ("m-empty", try encode(noImages), "job.no_images", noImages.jobID),
                ("m-gif", try encode(gif), "job.unsupported_content_type", gif.jobID),
                ("m-huge", [UInt8](repeating: 0x20, count: 150_000), "job.too_large", "m-huge"),
            ]
            for item in cases { try await harness.submitRaw(item.body, messageID: item.id) }
            try await harness.submit([good])
            let results = try await harness.results(for: cases.map(\.resultID) + [good.jobID])
            for item in cases {
                let result = try #require(results[item.resultID])
                #expect(result.status == "failed", "\(item.id)")
                #expect(result.error?.code == item.code, "\(item.id): \(result.error?.message ?? "")")
                #expect(result.error?.stage == "job")
                #expect(result.error?.retriable == false)
            }
            #expect(results[badBase64.jobID]?.error?.message.hasPrefix("images[1].data:") == true)
            #expect(results[good.jobID]?.status == "graded", "the worker still serves")
            let dead = try await harness.deadLetters(count: cases.count)
            #expect(Set(dead.compactMap(\.properties.messageID)).isSuperset(of: cases.map(\.id)))
            #expect(harness.worker("w1")?.isRunning == true)
        }
    }

    @Test("SIGTERM drains in-flight jobs; no job is lost or answered twice")
    func sigtermDrains() async throws {
        try await FleetHarness.with(concurrency: 2) { harness in
            let first = try harness.startWorker("draining")
            try await harness.waitForLog("draining", containing: "connected to the broker")
            let jobs = (0..<6).map { harness.job("drain-\($0)", fault: "sleep:1000") }
            try await harness.submit(jobs)
            try await harness.waitForLog("draining", containing: "job started", count: 2)  // two jobs in flight
            first.terminate()  // SIGTERM
            first.waitUntilExit()
            #expect(first.terminationStatus == 0, "\(harness.log("draining").suffix(1500))")
            let drained = harness.allResults
            #expect(drained.count == 2, "the two jobs in flight finish before exit")
            #expect(drained.allSatisfy { $0.workerID == "draining" && $0.status == "graded" })
            try harness.startWorker("next")
            let results = try await harness.results(for: jobs.map(\.jobID))
            #expect(results.count == 6)
            try await Task.sleep(for: .milliseconds(300))
            #expect(harness.allResults.count == 6, "no job answered twice: \(harness.allResults.map(\.jobID).sorted())")
        }
    }

    @Test("captured fixture jobs replay to their recorded results")
    func replayCapturedFixtures() async throws {
        let capture = FleetHarness.repository.appendingPathComponent("Tests/Fixtures/capture-small").path
        try await FleetHarness.with(pipeline: try String(contentsOfFile: "\(capture)/pipeline.yaml", encoding: .utf8)) { harness in
            try harness.startWorker("w1")
            let replay = Process()
            replay.executableURL = URL(fileURLWithPath: FleetHarness.binary("gradeline-producer"))
            replay.arguments = ["replay", capture, "--compare", "--config", harness.settingsFile.path, "--timeout", "60"]
            replay.currentDirectoryURL = FleetHarness.repository
            let output = Pipe()
            replay.standardOutput = output
            replay.standardError = output
            try replay.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            replay.waitUntilExit()
            #expect(replay.terminationStatus == 0, "\(text)")
            #expect(text.contains("fixture-a: same") && text.contains("fixture-b: same"), "\(text)")
        }
    }

    @Test("a broker restart mid-stream is survived and every job is answered")
    func brokerRestart() async throws {
        try await FleetHarness.with(concurrency: 2) { harness in
            try harness.startWorker("w1")
            try await harness.waitForLog("w1", containing: "connected to the broker")
            // Jobs keep coming before, during and after the restart: rabbitmqctl may take seconds
            // to act, so the stream runs until five jobs were published after it finished.
            let restarted = Flag()
            let restart = Task.detached {
                try TestBroker.restart()
                restarted.set()
            }
            var jobs: [Job] = []
            var afterRestart = 0
            while afterRestart < 5 {
                let job = harness.job("restart-\(jobs.count)", fault: "sleep:100")
                jobs.append(job)
                try await harness.submit([job])  // waits out the downtime for its confirm
                if restarted.isSet { afterRestart += 1 }
                try await Task.sleep(for: .milliseconds(200))
            }
            try await restart.value
            try await harness.waitForLog("w1", containing: "lost the broker connection", timeout: .seconds(30))
            try await harness.waitForLog("w1", containing: "reconnected to the broker", timeout: .seconds(60))
            let results = try await harness.results(for: jobs.map(\.jobID), timeout: .seconds(90))
            #expect(results.values.allSatisfy { $0.status == "graded" })
            #expect(harness.worker("w1")?.isRunning == true)
        }
    }

    @Test("while the broker blocks publishers (a memory alarm), publishes wait, then complete")
    func blockedConnection() async throws {
        try await FleetHarness.with { harness in
            let job = harness.job("blocked")
            try TestBroker.ctl(["set_vm_memory_high_watermark", "0"])
            let confirmed = Flag()
            let publishing = Task {
                try await harness.submit([job])
                confirmed.set()
            }
            try await Task.sleep(for: .seconds(2))
            let confirmedWhileBlocked = confirmed.isSet
            try TestBroker.ctl(["set_vm_memory_high_watermark", "0.4"])
            try await publishing.value
            #expect(!confirmedWhileBlocked, "the broker confirmed a publish while it blocked publishers")
            #expect(confirmed.isSet)
            #expect(harness.publisher.isConnected, "being blocked is not a reason to reconnect")
            try harness.startWorker("w1")
            let results = try await harness.results(for: [job.jobID])
            #expect(results[job.jobID]?.status == "graded")
        }
    }
}
}

/// A flag set once, from any task.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
