import ArgumentParser
import Core
import Fleet
import Foundation
import Logging
import Messaging

/// Options shared by the commands that talk to the broker.
struct BrokerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The broker. Default: $GRADELINE_AMQP_URL, else the worker settings' URL.", valueName: "url"))
    var amqpURL: String?

    @Option(name: .long, help: ArgumentHelp("Worker settings, for topology names (default config/worker.yaml when it exists).", valueName: "file"))
    var config: String?

    func settings() throws -> WorkerConfiguration {
        let file = config ?? (FileManager.default.fileExists(atPath: "config/worker.yaml") ? "config/worker.yaml" : nil)
        var settings = try WorkerConfiguration.load(file: file)
        if let amqpURL { settings.amqpURL = amqpURL }
        return settings
    }

    static func logger(_ label: String) -> Logger {
        LoggingSystem.bootstrapGradeline(defaultLevel: .warning)
        return Logger(label: label)
    }
}

/// `gradeline-producer submit`: publishes jobs with confirms, and with --wait prints results.
struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publishes grading jobs, one per phone, and with --wait prints each result.",
        discussion: """
            Files named <phone>-<side>.png (or .jpg, .jpeg) become one job per phone with its sides \
            (samples/phone-01-front.png and samples/phone-01-back.png are one job, phone-01). \
            --side makes one job of the given files, and --job publishes gradeline.job/1 files as they are.
            """)

    @Argument(help: "Photo files, PNG or JPEG, grouped into jobs by the <phone>-<side>.png naming (.jpg and .jpeg too).")
    var files: [String] = []

    @Option(name: .long, help: ArgumentHelp("One side of a single job, as side=file.", valueName: "side=file"))
    var side: [String] = []

    @Option(name: .long, help: ArgumentHelp("A gradeline.job/1 JSON file to publish.", valueName: "file"))
    var job: [String] = []

    @Option(name: .long, help: "Prefix for job ids made from files (default: a random one, so reruns are new jobs).")
    var idPrefix: String?

    @Option(name: .long, help: "The kiosk id on jobs made from files.")
    var kioskID = "kiosk-local"

    @Flag(name: .long, help: "Wait for every job's result and print it.")
    var wait = false

    @Option(name: .long, help: "With --wait: json, pretty or summary.")
    var format: ResultFormat = .summary

    @Option(name: .long, help: "With --wait: give up after this many seconds.")
    var timeout: Double = 120

    @Option(name: .long, help: ArgumentHelp("With --wait: also write each result to DIR/<name>.json, <name> as in a capture (Sources/Fleet/Capture.swift).", valueName: "dir"))
    var save: String?

    @OptionGroup var broker: BrokerOptions

    func run() async throws {
        let logger = BrokerOptions.logger("gradeline.producer")
        let settings = try broker.settings()
        let url = try settings.brokerURLs()[0]
        let prefix = idPrefix ?? "\(UUID().uuidString.prefix(8).lowercased())-"
        var jobs = try FleetClients.jobs(fromFiles: files, kioskID: kioskID, prefix: prefix)
        if !side.isEmpty {
            let sides = try side.map(Self.parseSide)
            jobs.append(try Job.fromFiles(sides, jobID: prefix + "sides", kioskID: kioskID))
        }
        for path in job {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            jobs.append(try Job.parse([UInt8](data)))
        }
        guard !jobs.isEmpty else { throw ValidationError("give photo files, --side or --job") }

        let listener = wait ? FleetClients.resultListener(url: url, name: "producer/results", settings: settings, logger: logger) : nil
        try await listener?.waitUntilConnected(timeout: .seconds(30))
        let publisher = FleetClients.publisher(url: url, name: "producer/publish", settings: settings, logger: logger)
        try await publisher.waitUntilConnected(timeout: .seconds(30))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for job in jobs {
                let message = try FleetClients.jobMessage(job, topology: settings.topology)
                group.addTask {
                    if case .returned(let reason) = try await publisher.publish(message) {
                        throw ValidationError("job \(job.jobID) was not routed to any queue: \(reason)")
                    }
                }
            }
            try await group.waitForAll()
        }
        FileHandle.standardError.write(Data("submitted \(jobs.count) job(s) to \(url)\n".utf8))
        await publisher.shutdown()
        guard let listener else { return }
        if let save { try FileManager.default.createDirectory(atPath: save, withIntermediateDirectories: true) }
        let (missing, unsaved) = await ResultPrinter(format: format, saveDirectory: save).collect(
            from: listener, jobIDs: Set(jobs.map(\.jobID)), timeout: timeout)
        await listener.shutdown()
        unsaved.forEach { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        if !missing.isEmpty {
            FileHandle.standardError.write(Data("no result within \(timeout) s for: \(missing.sorted().joined(separator: ", "))\n".utf8))
        }
        if !missing.isEmpty || !unsaved.isEmpty { throw ExitCode(1) }
    }
}

enum ResultFormat: String, ExpressibleByArgument, CaseIterable {
    case json, pretty, summary
}

/// Prints results for a set of job ids as they arrive, once per job id.
struct ResultPrinter {
    var format: ResultFormat
    var saveDirectory: String?

    /// Prints until every job has a result or `timeout` passes; returns the job ids still
    /// waiting, and a message for each result that could not be saved.
    func collect(from listener: AMQPClient, jobIDs: Set<String>, timeout: Double) async -> (missing: Set<String>, unsaved: [String]) {
        let state = await consume(listener, from: (remaining: jobIDs, unsaved: [String]()), timeout: timeout) { state, delivery in
            guard let result = try? GradingResult.parse(delivery.body), state.remaining.remove(result.jobID) != nil else {
                return false
            }
            FileHandle.standardOutput.write(Data((render(result) + "\n").utf8))
            if let saveDirectory {
                do {
                    try Capture.write(Array(result.json(pretty: true).utf8), to: Capture.fileName(result.jobID), in: saveDirectory)
                } catch {
                    state.unsaved.append("cannot save the result of \(Echo.clip(result.jobID)): \(error)")
                }
            }
            return state.remaining.isEmpty
        }
        return (state.remaining, state.unsaved)
    }

    func render(_ result: GradingResult) -> String {
        switch format {
        case .json: result.json()
        case .pretty: result.json(pretty: true)
        case .summary: result.summary
        }
    }
}
