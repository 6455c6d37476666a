import Core
import Fleet
import Foundation
import Logging
import Messaging
import Synchronization
import Testing

/// W3C trace context on a job's messages, and JSON log lines (issue 12).
@Suite("Trace context and JSON logs")
struct TraceContextTests {
    let handler: JobHandler
    static let given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    init() throws {
        let pipeline = try PipelineConfig.parse(yaml: FleetHarness.testPipeline, file: "test.yaml")
        var settings = WorkerConfiguration()
        settings.retry.delaysMs = [100]
        handler = JobHandler(pipeline: pipeline, fingerprint: Fingerprint(config: pipeline.sha256, workerVersion: "t"),
                             settings: settings)
    }

    func delivery(fault: String? = nil, traceparent: AMQPValue?, attempt: Int = 1) throws -> Delivery {
        let job = Job(jobID: "tc1", kioskID: "k", submittedAt: "2026-12-01T08:00:00Z",
                      device: fault.map { ["inject_fault": .string($0)] },
                      images: [Job.Photo(side: .front, contentType: "image/png", data: Base64.encode(TestImages.png(seed: 1)))])
        var headers: [String: AMQPValue] = [Headers.attempt: .int(Int64(attempt))]
        headers[Headers.traceparent] = traceparent
        return Delivery(body: Array(try JSONEncoder().encode(job)),
                        properties: MessageProperties(contentType: "application/json", messageID: "tc1", headers: headers))
    }

    static func isValid(_ value: AMQPValue?) -> Bool {
        guard case .string(let text)? = value else { return false }
        return text.wholeMatch(of: /00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]/) != nil
            && !text.contains("-00000000000000000000000000000000-")
    }

    @Test("the kiosk's traceparent rides on the result, the retry and the dead letter unchanged")
    func carried() throws {
        let graded = handler.handle(try delivery(traceparent: .string(Self.given)))
        #expect(graded.messages.map { $0.properties.headers[Headers.traceparent] } == [.string(Self.given)])
        let retry = handler.handle(try delivery(fault: "retriable", traceparent: .string(Self.given)))
        #expect(retry.messages.map { $0.properties.headers[Headers.traceparent] } == [.string(Self.given)])
        let dead = handler.handle(try delivery(fault: "retriable", traceparent: .string(Self.given), attempt: 2))
        #expect(dead.messages.count == 2)
        #expect(dead.messages.allSatisfy { $0.properties.headers[Headers.traceparent] == .string(Self.given) })
    }

    @Test("a job without one, or with one that does not parse, gets one new traceparent on all its messages",
          arguments: [nil, AMQPValue.string("00-xyz-00f067aa0ba902b7-01"), .string(String(repeating: "0", count: 5000)),
                      .string("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), .int(7)])
    func made(given: AMQPValue?) throws {
        let dead = handler.handle(try delivery(fault: "retriable", traceparent: given, attempt: 2))
        let values = dead.messages.map { $0.properties.headers[Headers.traceparent] }
        #expect(values.count == 2 && Set(values.map { "\(String(describing: $0))" }).count == 1, "\(values)")
        #expect(Self.isValid(values.first ?? nil), "\(String(describing: values.first))")
        // Two jobs without one get different ones.
        let other = handler.handle(try delivery(traceparent: given)).messages.first?.properties.headers[Headers.traceparent]
        #expect(other != values.first ?? nil)
    }

    @Test("JSON log lines: one object per line, with time, level, message and metadata; control characters escaped")
    func jsonLines() throws {
        let lines = Mutex<[String]>([])
        var handler = JSONLogHandler(label: "test", write: { line in lines.withLock { $0.append(line) } })
        handler.logLevel = .debug
        handler[metadataKey: "job.id"] = "evil\n{\"level\":\"critical\"}"
        let logger = Logger(label: "test") { _ in handler }
        logger.info("job started", metadata: ["job.attempt": "2", "traceparent": "\(Self.given)",
                                              "nested": ["a": ["1", "2"]]])
        logger.warning("line\u{2028}separator", error: AMQPError(.connection, "refused"))
        let written = lines.withLock { $0 }
        #expect(written.count == 2)
        #expect(written.allSatisfy { !$0.contains("\n") && !$0.contains("\u{2028}") })
        let first = try #require(JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(first["level"] as? String == "info")
        #expect(first["message"] as? String == "job started")
        #expect(first["job.id"] as? String == "evil\n{\"level\":\"critical\"}")
        #expect(first["job.attempt"] as? String == "2")
        #expect(first["traceparent"] as? String == Self.given)
        #expect((first["nested"] as? [String: Any])?["a"] as? [String] == ["1", "2"])
        let time = try #require(first["time"] as? String)
        #expect(time.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(time)")
        let second = try #require(JSONSerialization.jsonObject(with: Data(written[1].utf8)) as? [String: Any])
        #expect(second["message"] as? String == "line\u{2028}separator")
        #expect((second["error"] as? String)?.contains("refused") == true)
    }

    @Test("through the broker: a worker with GRADELINE_LOG_FORMAT=json logs the job's traceparent on JSON lines")
    func throughTheBroker() async throws {
        try await FleetHarness.with { harness in
            try harness.startWorker("w1", environment: ["GRADELINE_LOG_FORMAT": "json"])
            let job = harness.job("traced")
            var message = try FleetClients.jobMessage(job, topology: harness.settings.topology)
            message.properties.headers[Headers.traceparent] = .string(Self.given)
            #expect(try await harness.publisher.publish(message) == .confirmed)
            _ = try await harness.results(for: [job.jobID])
            try await harness.waitForLog("w1", containing: "job answered")
            let lines = harness.log("w1").split(separator: "\n").filter { !$0.isEmpty }
            #expect(!lines.isEmpty)
            for line in lines {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not JSON: \(line)")
            }
            let answered = try #require(lines.first { $0.contains("job answered") })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(answered.utf8)) as? [String: Any])
            #expect(object["traceparent"] as? String == Self.given)
            #expect(object["job.id"] as? String == job.jobID)
        }
    }
}
