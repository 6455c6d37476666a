import ArgumentParser
import Core
import Fleet
import Foundation
import Messaging

/// `gradeline-producer capture`: records jobs and their results into a capture folder.
struct CaptureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Records jobs published to the jobs exchange, and their results, into a gradeline.capture/1 folder.",
        discussion: """
            A private tap queue bound to the jobs exchange sees every job published while it runs; \
            a private queue bound to the results exchange sees the results. It stops after --count \
            jobs have results, or after --timeout seconds. The format is described in Sources/Fleet/Capture.swift.
            """)

    @Option(name: .long, help: ArgumentHelp("The capture folder to write.", valueName: "dir"))
    var out: String

    @Option(name: .long, help: "Stop once this many jobs have results.")
    var count: Int = 100

    @Option(name: .long, help: "Stop after this many seconds.")
    var timeout: Double = 300

    @OptionGroup var broker: BrokerOptions

    func run() async throws {
        let logger = BrokerOptions.logger("gradeline.capture")
        let settings = try broker.settings()
        let url = try settings.brokerURLs()[0]
        let topology = settings.topology, delays = settings.retry.delaysMs
        for folder in ["jobs", "results"] {
            try FileManager.default.createDirectory(atPath: "\(out)/\(folder)", withIntermediateDirectories: true)
        }
        var configuration = AMQPClient.Configuration(url: url, name: "capture")
        configuration.alternates = settings.alternates(besides: url)
        configuration.confirms = false
        let client = AMQPClient(configuration: configuration, logger: logger) { session throws(AMQPError) in
            try topology.declare(on: session, retryDelaysMs: delays)
            let tap = try session.declareQueue("", durable: false, exclusive: true, autoDelete: true)
            try session.bind(queue: tap, exchange: topology.jobsExchange, routingKey: "#")
            let results = try session.declareQueue("", durable: false, exclusive: true, autoDelete: true)
            try session.bind(queue: results, exchange: topology.resultsExchange, routingKey: "result.*")
            try session.consume(queue: tap, prefetch: 64)
            try session.consume(queue: results, prefetch: 64)
        }
        try await client.waitUntilConnected(timeout: .seconds(30))
        FileHandle.standardError.write(Data("capturing into \(out); publish jobs now\n".utf8))

        let started = CaptureState(capture: Capture(capturedAt: Job.rfc3339(Date())))
        let (out, count) = (self.out, self.count)
        let state = await consume(client, from: started, timeout: timeout) { state, delivery in
            do {
                try state.capture.record(delivery, jobsExchange: topology.jobsExchange, directory: out)
                try state.capture.save(out)
            } catch {
                // A file that cannot be written ends the capture: a capture with holes would
                // only fail later, in replay.
                state.failure = "\(error)"
                return true
            }
            return state.capture.entries.filter({ $0.result != nil }).count >= count
        }
        await client.shutdown()
        let capture = state.capture
        do {
            try capture.save(out)
        } catch {
            throw CaptureError("\(out)/manifest.json: cannot write the capture manifest: \(error.localizedDescription)")
        }
        if let failure = state.failure {
            FileHandle.standardError.write(Data("capture stopped: \(failure)\n".utf8))
            throw ExitCode(1)
        }
        let answered = capture.entries.filter { $0.result != nil }.count
        FileHandle.standardError.write(Data("captured \(capture.entries.count) job(s), \(answered) with results, in \(out)\n".utf8))
    }
}

/// What `capture` carries from delivery to delivery: the capture so far, and the write error
/// that stopped it, if one did.
struct CaptureState: Sendable {
    var capture: Capture
    var failure: String?
}

/// `gradeline-producer replay`: republishes captured jobs and compares the new results.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Republishes the jobs of a capture folder; --compare checks the new results against the recorded ones.",
        discussion: """
            Jobs get new ids (<id>~replay-<random>) unless --keep-ids, so that consumers who \
            deduplicate on job_id see new jobs. With --compare: status, grade and damages must \
            match exactly and trace stats within tolerance (see Sources/Fleet/ResultComparison.swift); \
            it prints a diff and exits 1 on any difference or missing result.
            """)

    @Argument(help: "The capture folder.")
    var directory: String

    @Flag(name: .long, help: "Compare the new results with the recorded ones.")
    var compare = false

    @Flag(name: .long, help: "Publish with the captured job ids.")
    var keepIDs = false

    @Option(name: .long, help: "Give up waiting for results after this many seconds.")
    var timeout: Double = 120

    @OptionGroup var broker: BrokerOptions

    func run() async throws {
        let logger = BrokerOptions.logger("gradeline.replay")
        let settings = try broker.settings()
        let url = try settings.brokerURLs()[0]
        let capture = try Capture.load(directory)
        let suffix = keepIDs ? "" : "~replay-\(UUID().uuidString.prefix(8).lowercased())"
        // A missing or unreadable file is named and skipped; the rest of the capture still runs.
        let (loaded, problems) = capture.replayables(in: directory)
        problems.forEach { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        let jobs = loaded.map { replayable -> (original: String, job: Job, recorded: GradingResult?) in
            var job = replayable.job
            job.jobID += suffix
            return (replayable.entry.jobID, job, replayable.recorded)
        }

        let listener = FleetClients.resultListener(url: url, name: "replay/results", settings: settings, logger: logger)
        try await listener.waitUntilConnected(timeout: .seconds(30))
        let publisher = FleetClients.publisher(url: url, name: "replay/publish", settings: settings, logger: logger)
        for (_, job, _) in jobs {
            _ = try await publisher.publish(try FleetClients.jobMessage(job, topology: settings.topology))
        }
        await publisher.shutdown()
        FileHandle.standardError.write(Data("replayed \(jobs.count) job(s) from \(directory)\n".utf8))

        let results = await Self.collect(from: listener, jobIDs: Set(jobs.map(\.job.jobID)), timeout: timeout)
        await listener.shutdown()
        var failed = false
        for (original, job, recorded) in jobs {
            guard let now = results[job.jobID] else {
                print("\(original): no result within \(timeout) s")
                failed = true
                continue
            }
            guard compare else {
                print(now.summary)
                continue
            }
            guard let recorded else {
                print("\(original): \(now.status) (nothing recorded to compare with)")
                continue
            }
            let differences = ResultComparison().compare(recorded: recorded, now: now)
            let failing = differences.filter(\.fails)
            print("\(original): \(failing.isEmpty ? "same" : "DIFFERENT") (\(now.status), grade \(now.grade ?? "null"))")
            differences.forEach { print("  \($0)") }
            failed = failed || !failing.isEmpty
        }
        if !problems.isEmpty {
            FileHandle.standardError.write(Data("\(problems.count) file(s) of the capture were missing or unreadable (listed above)\n".utf8))
        }
        if failed || !problems.isEmpty { throw ExitCode(1) }
    }

    /// The first result for each job id, until all came or the timeout passed.
    static func collect(from listener: AMQPClient, jobIDs: Set<String>, timeout: Double) async -> [String: GradingResult] {
        await consume(listener, from: [String: GradingResult](), timeout: timeout) { results, delivery in
            guard let result = try? GradingResult.parse(delivery.body), jobIDs.contains(result.jobID),
                  results[result.jobID] == nil else { return false }
            results[result.jobID] = result
            return results.count == jobIDs.count
        }
    }
}
