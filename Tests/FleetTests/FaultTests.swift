import Core
import Fleet
import Foundation
import Messaging
import Testing

extension BrokerSuites {
/// Network faults between workers and a real RabbitMQ, made by a TCP proxy written here: each
/// ends with no job lost and a bounded time to recover.
@Suite("Network faults through a TCP proxy, against a real RabbitMQ", .serialized)
struct FaultTests {
    static let heartbeat = 2
    /// Workers log JSON lines, whose `time` has milliseconds, so that a test can time an event
    /// by when the worker logged it rather than by when the test read the log.
    static let jsonLogs = ["GRADELINE_LOG_FORMAT": "json"]

    /// Seconds from `start` to the `time` of the first JSON log line containing `text`.
    static func loggedAfter(_ start: Date, _ log: String, _ text: String) throws -> Double {
        let line = try #require(log.split(separator: "\n").first { $0.contains(text) }, "no log line with \(text)")
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let stamp = try #require(object?["time"] as? String, "no time in \(line)")
        let time = try #require(formatter.date(from: stamp), "time \(stamp) is not RFC 3339")
        return time.timeIntervalSince(start)
    }

    /// A harness whose workers reach the broker through a proxy.
    func withProxy(maxMessageBytes: Int = 8 << 20, _ body: (FleetHarness, TCPProxy, String) async throws -> Void) async throws {
        let url = try TestBroker.url
        let port = try #require(URLComponents(string: url)?.port)
        let proxy = try TCPProxy(targetPort: UInt16(port))
        defer { proxy.stop() }
        try await FleetHarness.with(concurrency: 2, maxMessageBytes: maxMessageBytes, heartbeatSeconds: Self.heartbeat) { harness in
            try await body(harness, proxy, proxy.url(for: url))
        }
    }

    @Test("every connection reset mid-stream: no job lost, work resumes within 15 s")
    func reset() async throws {
        try await withProxy { harness, proxy, url in
            try harness.startWorker("w1", amqpURL: url)
            try harness.startWorker("w2", amqpURL: url)
            let jobs = (0..<40).map { harness.job("reset-\($0)", fault: "sleep:100") }
            try await harness.submit(jobs)
            while harness.allResults.count < 10 { try await Task.sleep(for: .milliseconds(20)) }
            let before = harness.allResults.count
            proxy.resetAll()
            let resetAt = ContinuousClock.now
            while harness.allResults.count <= before + 2 {
                #expect(ContinuousClock.now - resetAt < .seconds(15), "no result within 15 s of the reset")
                guard ContinuousClock.now - resetAt < .seconds(15) else { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let ledger = try await harness.settle(jobs)
            #expect(ledger.unexpected.isEmpty, "\(ledger)")
            print("fault reset: \(ledger); first results again \(ContinuousClock.now - resetAt) after the reset")
        }
    }

    @Test("a silent freeze of an idle connection is found within 2 heartbeats, then work resumes")
    func idleFreeze() async throws {
        try await withProxy { harness, proxy, url in
            try harness.startWorker("w1", amqpURL: url, environment: Self.jsonLogs)
            try await harness.waitForLog("w1", containing: "connected to the broker", count: 2)
            proxy.set(.frozen)
            let frozeAt = Date()
            try await harness.waitForLog("w1", containing: "lost the broker connection", timeout: .seconds(20))
            let detected = try Self.loggedAfter(frozeAt, harness.log("w1"), "lost the broker connection")
            // Two heartbeats plus slack, timed by the worker's own log line (about 4.1 s; nothing is
            // in flight, so no buffer has to fill first).
            #expect(detected < Double(2 * Self.heartbeat + 3), "found after \(detected) s")
            proxy.set(.pass)
            let jobs = (0..<6).map { harness.job("thaw-\($0)") }
            try await harness.submit(jobs)
            let ledger = try await harness.settle(jobs, timeout: .seconds(60))
            print("fault idle freeze: found after \(detected); \(ledger)")
        }
    }

    @Test("a freeze in the middle of a 10 MB publish is found within 2 heartbeats, and the message is sent again")
    func freezeDuringLargePublish() async throws {
        try await withProxy(maxMessageBytes: 16 << 20) { harness, proxy, url in
            try harness.startWorker("w1", amqpURL: url, environment: Self.jsonLogs)
            try await harness.waitForLog("w1", containing: "connected to the broker", count: 2)
            // A job with 10 MB of image data that is not a PNG: its dead letter carries it all,
            // more than the sender's socket buffer holds, so the publish blocks in its send.
            var big = harness.job("big")
            var generator = SystemRandomNumberGenerator()
            big.images[0].data = Base64.encode((0..<10_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
            proxy.freezeConnection(afterSending: 1_000_000)
            try await harness.submit([big])
            // Only the frozen publisher connection can log this. The send is blocked (10 MB does
            // not fit the sender's buffer and the proxy's small window), which only the watchdog
            // can see: rabbitmq-c checks heartbeats only while it reads.
            try await harness.waitForLog("w1", containing: "lost the broker connection", timeout: .seconds(30))
            let frozeAt = try #require(proxy.frozeAt.withLock { $0 })
            let detected = try Self.loggedAfter(frozeAt, harness.log("w1"), "lost the broker connection")
            // Two heartbeats of no progress, plus slack: 4.1 to 4.3 s on an idle machine, by the
            // worker's own log line. The clock starts at the freeze, but the worker still makes
            // progress while the kernel's socket buffers on both sides of the proxy fill, and that
            // takes longer on a loaded machine: 7.3 and 8.1 s by the worker's log, with a build
            // running beside the test. Hence 6 s of slack; a stall TCP alone would find takes
            // minutes.
            #expect(detected < Double(2 * Self.heartbeat + 6), "found after \(detected) s")
            let by = harness.log("w1").contains("made no progress") ? "the watchdog" : "the heartbeat check"
            #expect(by == "the watchdog", "the stall was found while the publish was blocked in its send")
            let next = harness.job("after")
            try await harness.submit([next])
            let results = try await harness.results(for: [big.jobID, next.jobID], timeout: .seconds(60))
            #expect(results[big.jobID]?.error?.code == "image.corrupt")
            #expect(results[next.jobID]?.status == "graded")
            let dead = try await harness.deadLetters(count: 1)
            #expect(dead.contains { $0.body.count > 10_000_000 }, "the dead letter arrived whole")
            print("fault freeze mid-publish: found by \(by) after \(detected); \(harness.ledger([big.jobID, next.jobID]))")
        }
    }

    @Test("200 ms of latency each way: every job answered")
    func latency() async throws {
        try await withProxy { harness, proxy, url in
            proxy.set(.latency(200))
            try harness.startWorker("w1", amqpURL: url)
            let jobs = (0..<12).map { harness.job("slow-net-\($0)") }
            let started = ContinuousClock.now
            try await harness.submit(jobs)
            let ledger = try await harness.settle(jobs)
            #expect(ledger.duplicated.isEmpty, "\(ledger)")
            print("fault latency 200 ms: \(ledger) in \(ContinuousClock.now - started)")
        }
    }

    @Test("deliveries that waited while their connection was lost are not started; the broker's redeliveries are")
    func staleDeliveries() async throws {
        try await withProxy { harness, proxy, url in
            try harness.startWorker("w1", concurrency: 1, amqpURL: url)
            try await harness.waitForLog("w1", containing: "connected to the broker", count: 2)
            let jobs = (0..<3).map { harness.job("stale-\($0)", fault: "sleep:1500") }
            try await harness.submit(jobs)
            try await harness.waitForLog("w1", containing: "job started")
            try await Task.sleep(for: .milliseconds(300))  // the second delivery is waiting for the child
            proxy.resetAll()
            let ledger = try await harness.settle(jobs, timeout: .seconds(60))
            let started = harness.log("w1").components(separatedBy: "job started").count - 1
            // The waiting delivery is skipped, not run (the broker delivers it again). Runs are
            // usually 4 for 3 jobs (the first job's ack went down with the connection); a
            // reconnect that fails a few times can add one more redelivery, so the count is
            // reported rather than asserted.
            #expect(harness.log("w1").contains("job not run: its connection was lost"), "\(harness.log("w1").suffix(2000))")
            print("fault stale deliveries: \(started) runs for 3 jobs; \(ledger)")
        }
    }
}
}
