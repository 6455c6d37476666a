import Core
import Fleet
import Foundation
import Logging
import Messaging
import Testing
import TestSupport

extension BrokerSuites {
/// Hostile input and crashing jobs against a real RabbitMQ: one message, image or crash must
/// never stall the fleet, lose a neighbour, or outlive a deadline (issue 9).
@Suite("Fleet hardening, against a real RabbitMQ", .serialized)
struct HardeningTests {
    /// A job body with `jobID` as it is, even where the schema forbids it.
    func body(_ harness: FleetHarness, jobID: String, schema: String = Job.schemaID) throws -> [UInt8] {
        var job = harness.job("raw")
        job.jobID = jobID
        job.schema = schema
        return Array(try JSONEncoder().encode(job))
    }

    @Test("a job_id over 255 UTF-8 bytes, or a 300-byte one in a bad body, is answered and the next job still is")
    func longJobIDs() async throws {
        try await FleetHarness.with { harness in
            try harness.startWorker("w1")
            let emoji = String(repeating: "😀", count: 200)  // 200 characters, 800 bytes
            let marks = "e" + String(repeating: "\u{301}", count: 300)  // one character, 601 bytes
            try await harness.submitRaw(try body(harness, jobID: emoji), messageID: "\(harness.id)-emoji")
            try await harness.submitRaw(try body(harness, jobID: marks), messageID: "\(harness.id)-marks")
            var bad = try JSONSerialization.jsonObject(with: Data(try body(harness, jobID: "x"))) as! [String: Any]
            bad["job_id"] = String(repeating: "a", count: 300)
            bad["images"] = 3
            try await harness.submitRaw(Array(try JSONSerialization.data(withJSONObject: bad)), messageID: "\(harness.id)-ascii")
            let next = harness.job("after")
            try await harness.submit([next])
            let results = try await harness.results(for: ["\(harness.id)-emoji", "\(harness.id)-marks", "\(harness.id)-ascii", next.jobID],
                                                    timeout: .seconds(30))
            for id in ["emoji", "marks", "ascii"] {
                let result = try #require(results["\(harness.id)-\(id)"])
                #expect(result.status == "failed")
                #expect(result.error?.stage == "job", "\(id): \(result.error?.message ?? "")")
            }
            #expect(results[next.jobID]?.status == "graded")
            #expect(harness.log("w1").components(separatedBy: "lost the broker connection").count == 1,
                    "no reconnects: \(harness.log("w1").suffix(1500))")
        }
    }

    @Test("a 300 KB field is cut in the error and the dead-letter header; the result is sent once and the next job answered")
    func hugeField() async throws {
        try await FleetHarness.with { harness in
            try harness.startWorker("w1")
            let huge = String(repeating: "s", count: 300_000)
            try await harness.submitRaw(try body(harness, jobID: "\(harness.id)-huge", schema: huge), messageID: "\(harness.id)-huge")
            var typed = harness.job("ctype")
            typed.images[0].contentType = String(repeating: "c", count: 300_000)
            try await harness.submitRaw(Array(try JSONEncoder().encode(typed)), messageID: typed.jobID)
            let next = harness.job("after")
            try await harness.submit([next])
            let results = try await harness.results(for: ["\(harness.id)-huge", typed.jobID, next.jobID], timeout: .seconds(30))
            #expect(results["\(harness.id)-huge"]?.error?.code == "job.schema_violation")
            #expect((results["\(harness.id)-huge"]?.error?.message.utf8.count ?? .max) < 1000)
            #expect(results[typed.jobID]?.error?.code == "job.unsupported_content_type")
            #expect(results[next.jobID]?.status == "graded")
            let dead = try await harness.deadLetters(count: 2)
            for letter in dead {
                let message = letter.properties.headers[Headers.errorMessage]?.text ?? ""
                #expect(message.utf8.count <= 400, "the header echoes at most a few hundred bytes")
            }
            try await Task.sleep(for: .seconds(1))
            #expect(harness.allResults.filter { $0.jobID == "\(harness.id)-huge" }.count == 1, "sent once, not on every reconnect")
        }
    }

    @Test("crashing jobs among 40 valid ones: no valid job is dead-lettered, each crash gets a failed result")
    func poisonWithNeighbours() async throws {
        try await FleetHarness.with(concurrency: 2) { harness in
            try harness.startWorker("w1")
            try harness.startWorker("w2")
            let valid = (0..<40).map { harness.job("valid-\($0)") }
            let poison = (0..<6).map { harness.job("poison-\($0)", fault: "crash") }
            var jobs = valid
            for (index, job) in poison.enumerated() { jobs.insert(job, at: 3 + index * 7) }
            try await harness.submit(jobs)
            let results = try await harness.results(for: jobs.map(\.jobID), timeout: .seconds(120))
            let ledger = harness.ledger(jobs.map(\.jobID))
            #expect(ledger.lost.isEmpty && ledger.unexpected.isEmpty, "\(ledger)")
            for job in valid { #expect(results[job.jobID]?.status == "graded", "\(job.jobID)") }
            for job in poison {
                let result = try #require(results[job.jobID])
                #expect(result.status == "failed")
                #expect(result.error?.stage == "worker")
                #expect(result.error?.code == JobHandler.FailureCode.workerCrashed)
            }
            let dead = try await harness.deadLetters(count: poison.count)
            let deadIDs = Set(dead.compactMap { $0.properties.headers[Headers.jobID]?.text })
            #expect(deadIDs == Set(poison.map(\.jobID)), "only the poison jobs are dead-lettered")
            #expect(dead.allSatisfy { $0.properties.headers[Headers.errorCode]?.text == JobHandler.FailureCode.workerCrashed })
            #expect(harness.worker("w1")?.isRunning == true && harness.worker("w2")?.isRunning == true)
        }
    }

    /// Whether `pid` still runs: its /proc state is there and not Z (ended, unreaped).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    @Test("a pipeline process killed while idle is replaced; the next job is graded, not blamed for a crash")
    func idleChildDies() async throws {
        try await FleetHarness.with { harness in
            let worker = try harness.startWorker("w1")
            try await harness.waitForLog("w1", containing: "connected to the broker", count: 2)
            let children = FleetHarness.children(of: worker.processIdentifier)
            #expect(children.count == 1)
            for pid in children { kill(pid, SIGKILL) }  // as the OOM killer would
            // kill returns before the child has ended; the job must come after its death, or the
            // test would be of a job handed to a child in the moment it dies.
            let deadline = ContinuousClock.now + .seconds(5)
            while children.contains(where: { Self.isRunning($0) }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            let job = harness.job("after-oom")
            try await harness.submit([job])
            let results = try await harness.results(for: [job.jobID], timeout: .seconds(30))
            #expect(results[job.jobID]?.status == "graded", "\(results[job.jobID]?.error?.message ?? "")")
            #expect(harness.log("w1").contains("died while idle"))
        }
    }

    @Test("a job past job_timeout_seconds is stopped, retried, and then answered failed/timeout")
    func jobTimeout() async throws {
        try await FleetHarness.with(retryDelaysMs: [100], jobTimeoutSeconds: 1) { harness in
            try harness.startWorker("w1")
            let slow = harness.job("slow", fault: "sleep:30000")
            let next = harness.job("after")
            try await harness.submit([slow, next])
            let results = try await harness.results(for: [slow.jobID, next.jobID], timeout: .seconds(30))
            #expect(results[next.jobID]?.status == "graded")
            let result = try #require(results[slow.jobID])
            #expect(result.error?.code == JobHandler.FailureCode.timeout)
            #expect(result.error?.retriable == true)
            #expect(result.attempt == 2, "tried again once before the answer")
        }
    }

    @Test("a job whose process grows past max_job_rss_bytes fails with memory_limit; the next job is graded")
    func memoryLimit() async throws {
        try await FleetHarness.with(maxJobRSSBytes: 256 << 20) { harness in
            try harness.startWorker("w1")
            let hungry = harness.job("hungry", fault: "alloc:700")
            let next = harness.job("after")
            try await harness.submit([hungry, next])
            let results = try await harness.results(for: [hungry.jobID, next.jobID], timeout: .seconds(30))
            let result = try #require(results[hungry.jobID])
            #expect(result.error?.code == JobHandler.FailureCode.memoryLimit, "\(result.error?.message ?? "")")
            #expect(result.error?.retriable == false)
            #expect(results[next.jobID]?.status == "graded")
        }
    }

    @Test("SIGTERM with a job running past the deadline: exit within deadline + 2 s, and the job is answered later")
    func sigtermDeadline() async throws {
        try await FleetHarness.with(shutdownDeadlineSeconds: 2) { harness in
            let first = try harness.startWorker("w1")
            let slow = harness.job("slow", fault: "sleep:20000")
            try await harness.submit([slow])
            try await harness.waitForLog("w1", containing: "job started")
            let took = harness.stopGracefully(first)
            #expect(took < .seconds(4), "exited after \(took)")
            #expect(harness.allResults.isEmpty, "the unfinished job was not answered")
            let result = try await harness.resultFromNextWorker(for: slow)
            #expect(result?.status == "graded")
            #expect(result?.redelivered == true)
        }
    }

    @Test("SIGTERM to the whole group, as systemd sends it, lets the running job finish: it is not a crash")
    func sigtermToEveryProcess() async throws {
        try await FleetHarness.with { harness in
            let worker = try harness.startWorker("w1")
            let job = harness.job("group", fault: "sleep:1500")
            try await harness.submit([job])
            try await harness.waitForLog("w1", containing: "job started")
            let pids = FleetHarness.children(of: worker.processIdentifier)
            #expect(!pids.isEmpty, "the worker has pipeline processes")
            for pid in pids { kill(pid, SIGTERM) }
            worker.terminate()
            worker.waitUntilExit()
            #expect(worker.terminationStatus == 0)
            let results = try await harness.results(for: [job.jobID], timeout: .seconds(10))
            #expect(results[job.jobID]?.status == "graded", "\(results[job.jobID]?.error?.message ?? "")")
        }
    }

    @Test("SIGTERM while the broker blocks publishers: exit within deadline + 2 s")
    func sigtermBlockedBroker() async throws {
        try await FleetHarness.with(shutdownDeadlineSeconds: 1) { harness in
            let job = harness.job("blocked", fault: "sleep:3000")
            let worker = try await harness.startWorker("w1", running: job)
            try TestBroker.ctl(["set_vm_memory_high_watermark", "0.000001"])
            defer { try? TestBroker.ctl(["set_vm_memory_high_watermark", "0.4"]) }
            // The job ends after 3 s, the alarm long raised by then; its result then waits on
            // the blocked publisher.
            try await Task.sleep(for: .seconds(4.5))
            #expect(harness.allResults.isEmpty, "the broker held the result back")
            let took = harness.stopGracefully(worker)
            #expect(took < .seconds(3), "exited after \(took): \(harness.log("w1").suffix(1500))")
            try TestBroker.ctl(["set_vm_memory_high_watermark", "0.4"])
            #expect(try await harness.resultFromNextWorker(for: job)?.status == "graded", "the job was not lost")
        }
    }

    @Test("SIGTERM while the broker is down: exit within deadline + 2 s, and the job is answered once it is back")
    func sigtermBrokerDown() async throws {
        try await FleetHarness.with(shutdownDeadlineSeconds: 1) { harness in
            let job = harness.job("down", fault: "sleep:1500")
            let worker = try await harness.startWorker("w1", running: job)
            try TestBroker.ctl(["stop_app"])
            defer { try? TestBroker.ctl(["start_app"]) }
            try await harness.waitForLog("w1", containing: "lost the broker connection", timeout: .seconds(20))
            let took = harness.stopGracefully(worker)
            #expect(took < .seconds(3), "exited after \(took): \(harness.log("w1").suffix(1500))")
            try TestBroker.ctl(["start_app"])
            #expect(try await harness.resultFromNextWorker(for: job)?.status == "graded", "the job was not lost")
        }
    }

    @Test("a job whose worker process dies past the delivery limit is dead-lettered by the queue and still answered")
    func deliveryLimit() async throws {
        try await FleetHarness.with(deliveryLimit: 1) { harness in
            let job = harness.job("doomed", fault: "sleep:20000")
            try await harness.submit([job])
            for name in ["k1", "k2"] {
                let worker = try harness.startWorker(name)
                try await harness.waitForLog(name, containing: "job started")
                kill(worker.processIdentifier, SIGKILL)
                worker.waitUntilExit()
            }
            try harness.startWorker("w3")
            let results = try await harness.results(for: [job.jobID], timeout: .seconds(30))
            let result = try #require(results[job.jobID])
            #expect(result.status == "failed")
            #expect(result.error?.code == JobHandler.FailureCode.deliveryLimit, "\(result.error?.message ?? "")")
            let dead = try await harness.deadLetters(count: 1)
            #expect(dead.first?.properties.headers["x-first-death-reason"]?.text == "delivery_limit")
        }
    }

    @Test("a dead letter keeps every header of the original with its type")
    func headerTypes() async throws {
        try await FleetHarness.with { harness in
            try harness.startWorker("w1")
            let job = harness.job("typed", fault: "fatal")
            var message = try FleetClients.jobMessage(job, topology: harness.settings.topology)
            let original: [String: AMQPValue] = [
                "h-bool": .bool(true), "h-i8": .int8(-3), "h-i32": .int32(-70000), "h-i64": .int(1 << 40),
                "h-float": .float(1.5), "h-double": .double(-2.25), "h-decimal": .decimal(scale: 2, value: 12345),
                "h-timestamp": .timestamp(1_764_000_000), "h-bytes": .bytes([0x61, 0, 0x62, 0xff]),
                "h-table": .table(["inner": .string("x"), "n": .int(7)]),
                "h-array": .array([.int(1), .string("two"), .bool(false)]), "h-void": .void,
                "h-text": .string("plain"),
            ]
            message.properties.headers = original
            _ = try await harness.publisher.publish(message)
            let dead = try await harness.deadLetters(count: 1)
            let headers = dead[0].properties.headers
            for (key, value) in original {
                #expect(headers[key] == value, "\(key): \(String(describing: headers[key])) != \(value)")
            }
        }
    }

    @Test("PNG bombs get a failed result within 2 s (the 5 MB zlib bomb within 5 s) and grow the worker by under 300 MB")
    func pngBombs() async throws {
        try await FleetHarness.with { harness in
            let worker = try harness.startWorker("w1")
            try await harness.waitForLog("w1", containing: "connected to the broker", count: 2)
            var bombs = ["tEXt", "zTXt", "iTXt", "sPLT", "pCAL", "sCAL"].map { type in
                (type, BombPNG.hugeChunk(type))
            }
            // 800 MB of zeros after the one row of a 1x1 image: about 5 MB on the wire, within
            // the test fleet's 8 MiB message limit once in base64.
            bombs.append(("zlib", BombPNG.inflatingPast(width: 1, height: 1, zeros: 800_000_000)))
            let baseline = Self.residentBytes(of: worker.processIdentifier)
            var peak = baseline
            for (name, png) in bombs {
                var job = harness.job("bomb-\(name)")
                job.images[0].data = Base64.encode(png)
                let submitted = ContinuousClock.now
                try await harness.submit([job])
                // The zlib bomb's message is 5 MB of base64, which a debug build takes about
                // 1.7 s to carry and parse on an idle machine, and over 2 s while other suites
                // share the cores (its decode stops after one row's worth of data; the memory
                // bound below is what shows that nothing inflated).
                let limit: Duration = name == "zlib" ? .seconds(5) : .seconds(2)
                while harness.allResults.first(where: { $0.jobID == job.jobID }) == nil {
                    peak = max(peak, Self.residentBytes(of: worker.processIdentifier))
                    #expect(ContinuousClock.now - submitted < limit, "\(name): no result within \(limit)")
                    guard ContinuousClock.now - submitted < .seconds(10) else { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let result = harness.allResults.first { $0.jobID == job.jobID }
                #expect(result?.status == "failed", "\(name)")
                #expect(result?.error?.code == "image.corrupt", "\(name): \(result?.error?.message ?? "")")
            }
            #expect(peak - baseline < 300 << 20, "grew by \((peak - baseline) >> 20) MiB")
            print("png bombs: worker and children grew by \((peak - baseline) >> 20) MiB at most")
        }
    }

    @Test("a dead letter that no queue takes does not get its job acked; the job comes back until the queue is there")
    func unroutableDeadLetter() async throws {
        try await FleetHarness.with(deliveryLimit: 50) { harness in
            try harness.startWorker("w1")
            try await harness.waitForLog("w1", containing: "connected to the broker", count: 2)
            let topology = harness.settings.topology
            try TestBroker.ctl(["delete_queue", topology.deadQueue])
            try TestBroker.ctl(["delete_queue", topology.deadWatchQueue])
            let job = harness.job("nowhere", fault: "fatal")
            try await harness.submit([job])
            // Each time: the dead letter comes back unroutable, and the job is delivered again.
            try await harness.waitForLog("w1", containing: "a retry or dead letter reached no queue", count: 2,
                                         timeout: .seconds(30))
            // A worker that starts declares the queue again, and the job ends where it belongs.
            try harness.startWorker("w2")
            let deadline = ContinuousClock.now + .seconds(30)
            while !harness.log("w1").contains("job dead-lettered") && !harness.log("w2").contains("job dead-lettered") {
                guard ContinuousClock.now < deadline else {
                    Issue.record("the job was never dead-lettered once the queue was back")
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Binds a queue to the harness's results exchange that refuses every message (length 0,
    /// reject-publish): the broker nacks each result, as it does for a quorum queue that has
    /// lost its majority. Returns the queue's name and the client that declared it.
    func refusingQueue(_ harness: FleetHarness) async throws -> (String, AMQPClient) {
        let settings = harness.settings, refusing = "\(harness.id).results-refusing"
        var logger = Logger(label: "refusing")
        logger.logLevel = .critical
        let client = AMQPClient(configuration: .init(url: try settings.brokerURLs()[0], name: "\(harness.id)/refusing"),
                                logger: logger) { session throws(AMQPError) in
            try settings.topology.declare(on: session, retryDelaysMs: settings.retry.delaysMs)
            try session.declareQueue(refusing, arguments: ["x-max-length": .int(0), "x-overflow": .string("reject-publish")])
            try session.bind(queue: refusing, exchange: settings.topology.resultsExchange, routingKey: "result.*")
        }
        try await client.waitUntilConnected(timeout: .seconds(20))
        return (refusing, client)
    }

    @Test("a result the broker refuses (nack) is published again after a growing wait, without running the job again; it is answered once a queue takes it")
    func refusedResult() async throws {
        try await FleetHarness.with { harness in
            let (refusing, client) = try await refusingQueue(harness)
            defer { Task { await client.shutdown(deadline: .seconds(1)) } }
            try harness.startWorker("w1")
            let job = harness.job("refused")
            try await harness.submit([job])
            try await harness.waitForLog("w1", containing: "the broker refused the outcome; publishing it again", count: 3)
            #expect(!harness.log("w1").contains("job answered"))
            try TestBroker.ctl(["delete_queue", refusing])
            // Answered: the broker confirmed a publish, and the job was acked.
            try await harness.waitForLog("w1", containing: "job answered", timeout: .seconds(30))
            let results = try await harness.results(for: [job.jobID], timeout: .seconds(30))
            #expect(results[job.jobID]?.status == "graded")
            let log = harness.log("w1")
            let refusals = log.components(separatedBy: "publishing it again").count - 1
            // Waits of 0.1-0.2, 0.2-0.4, 0.4-0.8 s...: a few refusals, not the hundreds a job put
            // back at once makes.
            #expect(refusals <= 12, "\(refusals) refusals")
            // A nack means one queue did not take it: the tap took each copy, as RabbitMQ does
            // for a message routed to several queues. So each attempt is one result at most.
            let copies = harness.allResults.filter { $0.jobID == job.jobID }.count
            #expect(copies <= refusals + 1, "\(copies) results for \(refusals) refusals")
            #expect(log.components(separatedBy: "job started").count - 1 == 1, "the job ran more than once:\n\(log.suffix(3000))")
            #expect(!log.contains("goes back to the queue"))
            // The publisher also took a new connection after a refusal (a channel can stay
            // refusing after a cluster node left), at most once per 5 s.
            let renewals = log.components(separatedBy: "the next ones go out on a new connection").count - 1
            #expect(renewals >= 1 && renewals <= 3, "\(renewals) renewals")
            #expect(harness.allDeadLetters.isEmpty)
            print("refused result: \(refusals) refusals before its queue was deleted, \(copies) copies of the result; run once")
        }
    }

    @Test("a result refused past refused_publish_seconds sends its job to the dead-letter queue; the worker goes on")
    func refusedPastLimit() async throws {
        try await FleetHarness.with(refusedPublishSeconds: 1.5) { harness in
            let (refusing, client) = try await refusingQueue(harness)
            defer { Task { await client.shutdown(deadline: .seconds(1)) } }
            try harness.startWorker("w1")
            let job = harness.job("refused-long")
            try await harness.submit([job])
            let dead = try await harness.deadLetters(count: 1, timeout: .seconds(30))
            #expect(dead.first?.properties.messageID == job.jobID)
            #expect(harness.log("w1").contains("the broker refused the outcome for refused_publish_seconds"))
            #expect(harness.log("w1").components(separatedBy: "job started").count - 1 == 1)
            // Once the results path takes messages again, the next job is answered.
            try TestBroker.ctl(["delete_queue", refusing])
            let next = harness.job("after-refusals")
            try await harness.submit([next])
            let results = try await harness.results(for: [next.jobID], timeout: .seconds(30))
            #expect(results[next.jobID]?.status == "graded")
        }
    }

    /// Resident bytes of a process and its children.
    static func residentBytes(of pid: Int32) -> Int {
        ([pid] + FleetHarness.children(of: pid)).reduce(0) { total, process in
            guard let text = try? String(contentsOfFile: "/proc/\(process)/statm", encoding: .utf8),
                  let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return total }
            return total + pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        }
    }
}
}
