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
            try harness.startWorker("w1", amqpURL: url)
            try await harness.waitForLog("w1", containing: "connected to the broker", count: 2)
            proxy.set(.frozen)
            let frozeAt = ContinuousClock.now
            try await harness.waitForLog("w1", containing: "lost the broker connection", timeout: .seconds(20))
            let detected = ContinuousClock.now - frozeAt
            // Two heartbeats plus slack, as for the freeze mid-publish below: 6.2 s once in a full
            // clean-clone run, about 4.1 s alone.
            #expect(detected < .seconds(2 * Self.heartbeat + 4), "found after \(detected)")
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
            try harness.startWorker("w1", amqpURL: url)
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
            let detected = ContinuousClock.now - frozeAt
            // Two heartbeats of no progress, plus slack: 4.1 to 4.3 s alone, but 7.4 and 8.2 s in
            // full clean-clone runs, with the other suites running on the 2 cores. This measures
            // when the test reads the log line, not when the worker wrote it; timing the worker's
            // own log timestamp instead would let the slack shrink again.
            #expect(detected < .seconds(2 * Self.heartbeat + 6), "found after \(detected)")
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
