import Core
import Fleet
import Foundation
import Messaging
import Testing

/// The worker's decisions, without a broker: what each delivery becomes.
@Suite("JobHandler decides results, retries and dead letters")
struct JobHandlerTests {
    let handler: JobHandler

    init() throws {
        let pipeline = try PipelineConfig.parse(yaml: FleetHarness.testPipeline, file: "test.yaml")
        var settings = WorkerConfiguration()
        settings.workerID = "unit"
        settings.retry.delaysMs = [100, 200]
        settings.maxMessageBytes = 50_000
        handler = JobHandler(pipeline: pipeline, fingerprint: Fingerprint(config: pipeline.sha256, workerVersion: "t"),
                             settings: settings)
    }

    func delivery(_ job: Job, attempt: Int? = nil) throws -> Delivery {
        var headers: [String: AMQPValue] = [:]
        if let attempt { headers[Headers.attempt] = .int(Int64(attempt)) }
        return Delivery(body: Array(try JSONEncoder().encode(job)),
                        properties: MessageProperties(contentType: "application/json", messageID: job.jobID, headers: headers))
    }

    func job(_ fault: String? = nil) -> Job {
        Job(jobID: "j1", kioskID: "k", submittedAt: "2026-11-28T08:00:00Z",
            device: fault.map { ["inject_fault": .string($0)] },
            images: [Job.Photo(side: .front, contentType: "image/png", data: Base64.encode(TestImages.png(seed: 1)))])
    }

    @Test("a graded job becomes one result on result.graded")
    func graded() throws {
        let plan = handler.handle(try delivery(job()))
        #expect(plan.disposition == .answered)
        #expect(plan.messages.map(\.routingKey) == ["result.graded"])
        #expect(plan.messages[0].properties.correlationID == "j1")
        #expect(plan.result?.workerID == "unit")
    }

    @Test("a passing failure goes to the retry queue of its rung with attempt + 1 and a jittered TTL")
    func retry() throws {
        let plan = handler.handle(try delivery(job("retriable"), attempt: 2))
        #expect(plan.disposition == .retry(attempt: 3))
        let message = try #require(plan.messages.first)
        #expect(plan.messages.count == 1)
        #expect(message.exchange == "")
        #expect(message.routingKey == "grading.retry.200ms")
        #expect(message.properties.headers[Headers.attempt] == .int(3))
        #expect((160...200).contains(message.properties.expirationMs ?? 0))
    }

    @Test("the last attempt is dead-lettered with a failed result")
    func lastAttempt() throws {
        let plan = handler.handle(try delivery(job("retriable"), attempt: 3))
        #expect(plan.disposition == .deadLettered)
        #expect(Set(plan.messages.map(\.routingKey)) == ["result.failed", "dead.resource.exhausted"])
        #expect(plan.result?.attempt == 3)
    }

    @Test("a body that is JSON but not a job still names its job_id; one that is not JSON uses message_id")
    func badBodies() {
        let invalid = Delivery(body: Array("{\"job_id\": \"named\", \"images\": 3}".utf8),
                               properties: MessageProperties(messageID: "m1"))
        #expect(handler.handle(invalid).result?.jobID == "named")
        let garbage = Delivery(body: Array("garbage".utf8), properties: MessageProperties(messageID: "m2"))
        let plan = handler.handle(garbage)
        #expect(plan.result?.jobID == "m2")
        #expect(plan.result?.error?.code == "job.not_json")
        #expect(plan.disposition == .deadLettered)
    }

    @Test("a bad body's job_id over 128 bytes or with control characters is not used; message_id is")
    func lenientJobIDLimits() {
        for id in [String(repeating: "a", count: 300), String(repeating: "😀", count: 40), "forged\nERROR x", "a\u{1B}[31m", "nul\u{0}"] {
            let body = try! JSONSerialization.data(withJSONObject: ["job_id": id, "images": 3])
            let plan = handler.handle(Delivery(body: Array(body), properties: MessageProperties(messageID: "m3")))
            #expect(plan.result?.jobID == "m3", "\(id.debugDescription)")
        }
        let fits = String(repeating: "b", count: 128)
        let body = try! JSONSerialization.data(withJSONObject: ["job_id": fits, "images": 3])
        #expect(handler.handle(Delivery(body: Array(body), properties: MessageProperties(messageID: "m4"))).result?.jobID == fits)
    }

    @Test("a forged attempt header is clamped to the retry policy's range")
    func attemptClamped() throws {
        for (forged, expected) in [(999, 3), (1 << 62, 3), (-5, 1), (0, 1), (2, 2)] {
            #expect(handler.attempt(of: try delivery(job(), attempt: forged)) == expected, "\(forged)")
        }
        let plan = handler.handle(try delivery(job("retriable"), attempt: 999))
        #expect(plan.disposition == .deadLettered, "the last attempt, not attempt 999")
        #expect(plan.result?.attempt == 3)
    }

    @Test("a crash below max_crashes goes back to the work queue with its count; at the limit it is answered and dead-lettered")
    func crashes() throws {
        let crash = Failure(stage: "worker", code: JobHandler.FailureCode.workerCrashed, message: "died", retriable: false)
        let first = handler.plan(for: try delivery(job()), workerFailure: crash)
        #expect(first.disposition == .crashed(count: 1))
        #expect(first.messages.map(\.routingKey) == ["grading.jobs"])
        #expect(first.messages[0].properties.headers[Headers.crashes] == .int(1))
        var again = try delivery(job())
        again.properties.headers[Headers.crashes] = .int(1)
        let last = handler.plan(for: again, workerFailure: crash)
        #expect(last.disposition == .deadLettered)
        #expect(Set(last.messages.map(\.routingKey)) == ["result.failed", "dead.worker_crashed"])
        #expect(last.result?.error?.stage == "worker")
    }

    @Test("a dead letter whose original headers would overflow a frame drops them and says how many")
    func oversizedHeaders() throws {
        var big = try delivery(job("fatal"))
        for index in 0..<40 { big.properties.headers["h\(index)"] = .string(String(repeating: "x", count: 3000)) }
        let plan = handler.handle(big)
        let dead = try #require(plan.messages.first { $0.exchange == "grading.dead" })
        #expect(dead.properties.headers[Headers.droppedHeaders] == .int(40))
        #expect(throws: Never.self) { try dead.validate(frameMax: 131_072) }
    }

    @Test("a short string over 255 bytes or headers over a frame are refused before they reach a connection")
    func validation() {
        let long = String(repeating: "é", count: 200)
        let message = OutgoingMessage(exchange: "x", routingKey: "k", body: [],
                                      properties: MessageProperties(correlationID: long))
        #expect(throws: AMQPError.self) { try message.validate(frameMax: 131_072) }
        let headers = OutgoingMessage(exchange: "x", routingKey: "k", body: [],
                                      properties: MessageProperties(headers: ["h": .string(String(repeating: "a", count: 200_000))]))
        #expect(throws: AMQPError.self) { try headers.validate(frameMax: 131_072) }
        #expect(throws: Never.self) { try OutgoingMessage(exchange: "x", routingKey: "k", body: []).validate(frameMax: 4096) }
    }

    @Test("a forged crash count neither loops nor overflows: it is clamped to max_crashes")
    func forgedCrashCount() throws {
        let crash = Failure(stage: "worker", code: JobHandler.FailureCode.workerCrashed, message: "died", retriable: false)
        // Negative, or too large for a count (read as none): the first crash, counted afresh.
        // Huge: at the limit at once.
        let cases: [(AMQPValue, JobHandler.Plan.Disposition)] = [
            (.int(-1_000_000), .crashed(count: 1)), (.uint64(.max), .crashed(count: 1)),
            (.int(.max), .deadLettered), (.string("9223372036854775807"), .deadLettered),
        ]
        for (forged, expected) in cases {
            var delivery = try delivery(job())
            delivery.properties.headers[Headers.crashes] = forged
            let plan = handler.plan(for: delivery, workerFailure: crash)
            #expect(plan.disposition == expected, "\(forged)")
            if case .crashed = plan.disposition {
                #expect(plan.messages.first?.properties.headers[Headers.crashes] == .int(1), "the forged count is replaced")
            }
        }
    }
}

