import ArgumentParser
import Core
import Dispatch
import Fleet
import Foundation
import Messaging
import Synchronization

/// `gradeline-producer bench`: fleet throughput and latency, against the same work in a plain loop.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measures jobs per second and p50/p99 latency through running workers, and the fleet's overhead against a plain loop.",
        discussion: """
            The plain loop runs the same jobs through the same JobHandler (parse, pipeline, result JSON) \
            on --concurrency threads with no broker. Overhead = loop jobs/s / fleet jobs/s - 1. \
            Start the workers first (bench/fleet.sh does it all) and use release builds.
            """)

    @Argument(help: "Photo files, grouped into jobs by <phone>-<side>.png.")
    var files: [String]

    @Option(name: .long, help: "Jobs per round.")
    var jobs = 60

    @Option(name: .long, help: "Rounds; the medians are reported.")
    var rounds = 3

    @Option(name: .long, help: "Threads of the plain loop; match the workers' total concurrency.")
    var concurrency = 2

    @Option(name: .long, help: ArgumentHelp("The pipeline config of the plain loop; match the workers'.", valueName: "file"))
    var pipeline = "config/pipeline.yaml"

    @Flag(name: .long, help: "Only the fleet: skip the plain loop (for soaks, where only the workers matter).")
    var fleetOnly = false

    @OptionGroup var broker: BrokerOptions

    func run() async throws {
        let logger = BrokerOptions.logger("gradeline.bench")
        let settings = try broker.settings()
        let url = try settings.brokerURLs()[0]
        let templates = try FleetClients.jobs(fromFiles: files, kioskID: "kiosk-bench")
        guard !templates.isEmpty else { throw ValidationError("give photo files") }
        let config = try PipelineConfig.load(file: pipeline)
        let handler = JobHandler(pipeline: config, fingerprint: Fingerprint(config: config.sha256, models: config.modelHashes, workerVersion: Gradeline.version),
                                 settings: settings)

        let listener = FleetClients.resultListener(url: url, name: "bench/results", settings: settings, logger: logger)
        try await listener.waitUntilConnected(timeout: .seconds(30))
        let publisher = FleetClients.publisher(url: url, name: "bench/publish", settings: settings, logger: logger)
        try await publisher.waitUntilConnected(timeout: .seconds(30))
        let arrivals = ResultClock()
        let listening = Task {
            for await delivery in listener.deliveries {
                listener.ack(delivery)
                if let result = try? GradingResult.parse(delivery.body) { arrivals.arrived(result.jobID) }
            }
        }

        var loopRates: [Double] = [], fleetRates: [Double] = [], p50s: [Double] = [], p99s: [Double] = []
        var loopCPUPerJob: [Double] = []
        // One warm-up job each way, so that neither side pays for first-touch costs in a round.
        if !fleetOnly {
            _ = handler.handle(Delivery(body: try FleetClients.jobMessage(templates[0], topology: settings.topology).body,
                                        properties: MessageProperties(messageID: "warm")))
        }
        _ = try await fleetRound(jobs: 1, templates: templates, round: -1, publisher: publisher, arrivals: arrivals, settings: settings)
        for round in 0..<rounds {
            if !fleetOnly {
                let cpuBefore = Self.processCPUSeconds()
                loopRates.append(try loopRound(handler: handler, templates: templates, settings: settings))
                loopCPUPerJob.append((Self.processCPUSeconds() - cpuBefore) * 1000 / Double(jobs))
            }
            let (rate, p50, p99) = try await fleetRound(jobs: jobs, templates: templates, round: round,
                                                        publisher: publisher, arrivals: arrivals, settings: settings)
            fleetRates.append(rate)
            p50s.append(p50)
            p99s.append(p99)
            let loopPart = loopRates.last.map { String(format: "plain loop %.2f jobs/s, ", $0) } ?? ""
            print("round \(round + 1): " + loopPart
                  + String(format: "fleet %.2f jobs/s, latency p50 %.0f ms p99 %.0f ms", rate, p50, p99))
        }
        listening.cancel()
        await publisher.shutdown()
        await listener.shutdown()
        let loop = Self.median(loopRates), fleet = Self.median(fleetRates)
        if fleetOnly {
            print(String(format: "median: fleet %.2f jobs/s, p50 %.0f ms, p99 %.0f ms", fleet, Self.median(p50s), Self.median(p99s)))
            return
        }
        print(String(format: "median: fleet %.2f jobs/s, p50 %.0f ms, p99 %.0f ms; plain loop %.2f jobs/s",
                     fleet, Self.median(p50s), Self.median(p99s), loop))
        print(String(format: "fleet overhead: %.1f%% (loop jobs/s / fleet jobs/s - 1; goal <= 5%%)", (loop / fleet - 1) * 100))
        print(String(format: "plain loop CPU per job: %.2f ms (median of rounds)", Self.median(loopCPUPerJob)))
        print("fleet jobs: \(rounds * jobs + 1) (rounds x jobs, plus one warm-up)")
    }

    /// Jobs per second of `jobs` jobs through `JobHandler` on `concurrency` threads.
    func loopRound(handler: JobHandler, templates: [Job], settings: WorkerConfiguration) throws -> Double {
        let bodies = try (0..<jobs).map { index -> [UInt8] in
            var job = templates[index % templates.count]
            job.jobID = "loop-\(index)"
            return try FleetClients.jobMessage(job, topology: settings.topology).body
        }
        let next = Mutex(0)
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: concurrency) { _ in
            while true {
                let index = next.withLock { value -> Int in
                    defer { value += 1 }
                    return value
                }
                guard index < bodies.count else { return }
                _ = handler.handle(Delivery(body: bodies[index], properties: MessageProperties(messageID: "loop-\(index)")))
            }
        }
        return Double(jobs) / Self.seconds(start.duration(to: .now))
    }

    /// Jobs per second and p50/p99 latency (publish to result) of one round through the fleet.
    func fleetRound(jobs: Int, templates: [Job], round: Int, publisher: AMQPClient, arrivals: ResultClock,
                    settings: WorkerConfiguration) async throws -> (Double, Double, Double) {
        let tag = "bench-\(UUID().uuidString.prefix(6).lowercased())-\(round)"
        let messages = try (0..<jobs).map { index -> OutgoingMessage in
            var job = templates[index % templates.count]
            job.jobID = "\(tag)-\(index)"
            return try FleetClients.jobMessage(job, topology: settings.topology)
        }
        let start = ContinuousClock.now
        var sent: [String: ContinuousClock.Instant] = [:]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in messages {
                sent[message.properties.messageID!] = .now
                group.addTask { _ = try await publisher.publish(message) }
            }
            try await group.waitForAll()
        }
        let ids = Array(sent.keys)
        let deadline = ContinuousClock.now + .seconds(600)
        while arrivals.count(of: ids) < ids.count {
            guard ContinuousClock.now < deadline else { throw ValidationError("results stopped coming; are workers running?") }
            try await Task.sleep(for: .milliseconds(5))
        }
        let done = arrivals.latest(of: ids)
        let latencies = ids.map { Self.seconds(sent[$0]!.duration(to: arrivals.time(of: $0)!)) * 1000 }.sorted()
        let rate = Double(jobs) / Self.seconds(start.duration(to: done))
        return (rate, latencies[latencies.count / 2], latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))])
    }

    /// CPU time this process has used, user and system.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}

/// When each job's first result arrived.
final class ResultClock: Sendable {
    private let times = Mutex<[String: ContinuousClock.Instant]>([:])

    func arrived(_ jobID: String) {
        times.withLock { if $0[jobID] == nil { $0[jobID] = .now } }
    }

    func time(of jobID: String) -> ContinuousClock.Instant? { times.withLock { $0[jobID] } }

    func count(of jobIDs: [String]) -> Int { times.withLock { times in jobIDs.filter { times[$0] != nil }.count } }

    func latest(of jobIDs: [String]) -> ContinuousClock.Instant {
        times.withLock { times in jobIDs.compactMap { times[$0] }.max() ?? .now }
    }
}
