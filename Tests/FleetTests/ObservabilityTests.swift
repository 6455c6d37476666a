import Core
@testable import Fleet
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Messaging
import Synchronization
import Testing

/// Metrics and health over HTTP (issue 12): the endpoints of a real worker on the test broker,
/// and the pieces they read.
@Suite("Metrics and health")
struct ObservabilityTests {
    /// A port nobody listens on now: bind to port 0, read what the kernel gave, close.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// GET http://127.0.0.1:PORT/PATH: (status, body), or nil when nothing answers.
    static func get(_ port: Int, _ path: String) async -> (Int, String)? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.timeoutInterval = 2
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              let http = response as? HTTPURLResponse else { return nil }
        return (http.statusCode, String(decoding: data, as: UTF8.self))
    }

    static func waitFor(_ port: Int, _ path: String, status: Int, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var last: (Int, String)?
        while ContinuousClock.now < deadline {
            last = await get(port, path)
            if let last, last.0 == status { return last.1 }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("\(path) did not answer \(status) within \(timeout); last: \(String(describing: last))")
    }

    /// The fleet tests' pipeline with a side check, so that a job can be rejected.
    static let pipeline = FleetHarness.testPipeline.replacingOccurrences(
        of: "    - inject_fault\n", with: "    - inject_fault\n    - check_sides: {required: [front, back]}\n")

    @Test("a worker serves live, ready, and metrics that count a known batch; ready turns 503 when it drains")
    func endpoints() async throws {
        try await FleetHarness.with(pipeline: Self.pipeline, shutdownDeadlineSeconds: 20) { harness in
            let port = try Self.freePort()
            let worker = try harness.startWorker("w1", environment: ["GRADELINE_METRICS_PORT": "\(port)"])
            _ = try await Self.waitFor(port, "/health/live", status: 200)
            #expect(try await Self.waitFor(port, "/health/ready", status: 200) == "ready\n")

            // A known batch: graded, failed for good, rejected for a missing side, and graded
            // on its second attempt after one retry.
            let good = harness.job("good"), fatal = harness.job("fatal", fault: "fatal")
            let oneSided = harness.job("one-sided", sides: [.front]), flaky = harness.job("flaky", fault: "retriable_until:2")
            try await harness.submit([good, fatal, oneSided, flaky])
            _ = try await harness.results(for: [good.jobID, fatal.jobID, oneSided.jobID, flaky.jobID])
            try await harness.waitForLog("w1", containing: "job dead-lettered")
            try await harness.waitForLog("w1", containing: "job answered", count: 3)
            try await Task.sleep(for: .milliseconds(200))  // the metrics are recorded after the ack
            let (status, metrics) = try #require(await Self.get(port, "/metrics"))
            #expect(status == 200)
            for line in ["gradeline_jobs_total{status=\"graded\",reason=\"none\"} 2",
                         "gradeline_jobs_total{status=\"failed\",reason=\"pipeline.invalid_input\"} 1",
                         "gradeline_jobs_total{status=\"rejected\",reason=\"missing_side\"} 1",
                         "gradeline_retries_total 1",
                         "gradeline_dead_letters_total{code=\"pipeline.invalid_input\"} 1",
                         "gradeline_stage_seconds_count{pipeline=\"decode\",function=\"decode_image\"} 4",
                         "gradeline_job_seconds_count 5", "gradeline_queue_wait_seconds_count 5",
                         "gradeline_jobs_in_flight 0.0"] {
                #expect(metrics.contains(line + "\n"), "no '\(line)' in:\n\(metrics)")
            }
            #expect(metrics.contains("gradeline_build_info{version=\"\(Gradeline.version)\",config_sha256=\""))
            #expect(metrics.contains("gradeline_model_load_seconds "))

            // A slow job holds the drain open: meanwhile ready says why not, and live stays 200.
            let slow = harness.job("slow", fault: "sleep:3000")
            try await harness.submit([slow])
            try await harness.waitForLog("w1", containing: "job started", count: 6)
            kill(worker.processIdentifier, SIGTERM)
            let reason = try await Self.waitFor(port, "/health/ready", status: 503, timeout: .seconds(3))
            #expect(reason.hasPrefix("draining"), "\(reason)")
            #expect(await Self.get(port, "/health/live")?.0 == 200)
            _ = try await harness.results(for: [slow.jobID])
        }
    }

    @Test("connections reset through a proxy show in gradeline_reconnects_total, per connection")
    func reconnects() async throws {
        let url = try TestBroker.url
        let proxy = try TCPProxy(targetPort: UInt16(try #require(URLComponents(string: url)?.port)))
        defer { proxy.stop() }
        try await FleetHarness.with { harness in
            let port = try Self.freePort()
            try harness.startWorker("w1", amqpURL: proxy.url(for: url), environment: ["GRADELINE_METRICS_PORT": "\(port)"])
            _ = try await Self.waitFor(port, "/health/ready", status: 200)
            let before = try #require(await Self.get(port, "/metrics")).1
            #expect(!before.contains("gradeline_reconnects_total{"), "reconnects before any reset:\n\(before)")
            proxy.resetAll()
            try await harness.waitForLog("w1", containing: "reconnected to the broker", count: 2)
            _ = try await Self.waitFor(port, "/health/ready", status: 200)
            let after = try #require(await Self.get(port, "/metrics")).1
            for connection in ["consume", "publish"] {
                #expect(after.contains("gradeline_reconnects_total{connection=\"\(connection)\"} 1\n"), "\(after)")
            }
        }
    }

    @Test("before the canaries pass, ready is 503 and says so; then 200 (the shipped pipeline and its canaries)")
    func readyAfterCanaries() async throws {
        let shipped = FleetHarness.repository.appendingPathComponent("config/pipeline.yaml").path
        try await FleetHarness.with(pipeline: "@" + shipped) { harness in
            let port = try Self.freePort()
            _ = try harness.startWorker("w1", environment: ["GRADELINE_METRICS_PORT": "\(port)"])
            let reason = try await Self.waitFor(port, "/health/ready", status: 503, timeout: .seconds(20))
            #expect(reason.contains("canary"), "\(reason)")
            #expect(await Self.get(port, "/health/live")?.0 == 200)
            _ = try await Self.waitFor(port, "/health/ready", status: 200, timeout: .seconds(180))
            #expect(harness.log("w1").contains("canaries match their recording"))
        }
    }

    @Test("metrics port 0 serves nothing; a port in use is a settings error (exit 2) naming it")
    func portSettings() async throws {
        try await FleetHarness.with { harness in
            let port = try Self.freePort()
            _ = try harness.startWorker("off", environment: ["GRADELINE_METRICS_PORT": "0"])
            try await harness.waitForLog("off", containing: "worker started")
            #expect(await Self.get(port, "/health/live") == nil)
            let first = try harness.startWorker("first", environment: ["GRADELINE_METRICS_PORT": "\(port)"])
            _ = try await Self.waitFor(port, "/health/live", status: 200)
            let second = try harness.startWorker("second", environment: ["GRADELINE_METRICS_PORT": "\(port)"])
            second.waitUntilExit()
            #expect(second.terminationStatus == 2)
            #expect(harness.log("second").contains("metrics.port \(port): cannot listen"), "\(harness.log("second"))")
            #expect(first.isRunning)
        }
    }

    @Test("readiness names the first thing missing, draining first")
    func readiness() {
        let readiness = Readiness()
        #expect(readiness.notReadyReason?.contains("canary") == true)
        readiness.canariesPassed()
        #expect(readiness.notReadyReason?.contains("models") == true)
        readiness.modelsLoaded()
        #expect(readiness.notReadyReason?.contains("not connected") == true)
        let connected = Mutex(false)
        readiness.consumer { connected.withLock { $0 } }
        #expect(readiness.notReadyReason?.contains("consumer") == true)
        connected.withLock { $0 = true }
        #expect(readiness.notReadyReason == nil)
        readiness.draining()
        #expect(readiness.notReadyReason?.hasPrefix("draining") == true)
    }

    @Test("submitted_at is found in a body without parsing it; odd bodies give nil, never a crash",
          arguments: [
            ("{\"job_id\":\"a\",\"submitted_at\":\"2026-12-01T08:00:00Z\"}", "2026-12-01T08:00:00Z"),
            ("{\"submitted_at\" : \n \"2026-12-01T08:00:00.5+02:00\", \"x\": 1}", "2026-12-01T08:00:00.5+02:00"),
            ("{\"submitted_at\":\"yesterday\"}", nil),
            ("{\"submitted_at\":\"2026-12-01T08:00:00Z", nil),
            ("{\"submitted_at\":12}", nil),
            ("{\"submitted_at\"", nil),
            ("\"submitted_at\":\"" + String(repeating: "9", count: 200) + "\"", nil),
            ("", nil),
          ] as [(String, String?)])
    func submittedAt(body: String, expected: String?) {
        #expect(JobHandler.submittedAt(in: Array(body.utf8)) == expected)
    }

    @Test("RFC 3339 instants to seconds since 1970, offsets and fractions included")
    func epochSeconds() throws {
        #expect(try #require(RFC3339("1970-01-01T00:00:00Z")).secondsSince1970 == 0)
        #expect(try #require(RFC3339("2026-12-01T08:00:00Z")).secondsSince1970 == 1_796_112_000)
        #expect(try #require(RFC3339("2026-12-01T10:00:00.25+02:00")).secondsSince1970 == 1_796_112_000.25)
        #expect(try #require(RFC3339("2000-02-29T23:59:60Z")).secondsSince1970 == 951_868_799)
        #expect(try #require(RFC3339("1969-12-31T23:00:00-01:00")).secondsSince1970 == 0)
    }
}
