import ArgumentParser
import Core
import Foundation

/// `gradeline-worker grade`: runs the pipeline on image files with no broker.
struct Grade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grades image files locally and prints one gradeline.result/1 JSON per job.",
        discussion: """
            Each IMAGE is one job with a single front photo. --side gives one job with \
            several sides instead, and --job grades a gradeline.job/1 JSON file. \
            Exits 0 when every job is graded or rejected, 1 when any job failed, 2 on a bad config.
            """)

    @Argument(help: "Image files, one job each (the photo is the front).")
    var images: [String] = []

    @Option(name: .long, help: ArgumentHelp("One side of a single job, as side=file.", valueName: "side=file"))
    var side: [String] = []

    @Option(name: .long, help: ArgumentHelp("A gradeline.job/1 JSON file to grade.", valueName: "file"))
    var job: [String] = []

    @OptionGroup var pipeline: PipelineOption

    @Option(name: .long, help: "How much the trace carries: summary or full (with PNGs).")
    var trace: TraceLevel = .summary

    @Option(name: .long, help: "json (one line per job), pretty (indented JSON) or summary (one human line per job).")
    var format: OutputFormat = .json

    @Option(name: .long, help: ArgumentHelp("The job id for --side (default local-sides).", valueName: "id"))
    var jobID = "local-sides"

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case json, pretty, summary
    }

    func validate() throws {
        if images.isEmpty && side.isEmpty && job.isEmpty {
            throw ValidationError("give image files, --side side=file, or --job file.json")
        }
    }

    func run() throws {
        Allocator.keepJobBuffers()
        let config = try pipeline.load()
        let fingerprint = Fingerprint(config: config.sha256, models: config.modelHashes, workerVersion: Gradeline.version)
        let workerID = "local:\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        var anyFailed = false
        for job in try jobs() {
            let result: GradingResult
            switch job {
            case .success(let job):
                do {
                    var request = try job.request()
                    let outcome = config.run(&request, level: trace)
                    result = GradingResult(request: request, outcome: outcome, fingerprint: fingerprint,
                                           workerID: workerID)
                } catch {
                    result = GradingResult(jobID: job.jobID, failure: Failure(job: error),
                                           fingerprint: fingerprint, workerID: workerID)
                }
            case .failure(let failed):
                result = GradingResult(jobID: failed.jobID, failure: Failure(job: failed.error),
                                       fingerprint: fingerprint, workerID: workerID)
            }
            anyFailed = anyFailed || result.status == "failed"
            switch format {
            case .json: print(result.json())
            case .pretty: print(result.json(pretty: true))
            case .summary: print(result.summary)
            }
        }
        if anyFailed { throw ExitCode(1) }
    }

    struct FailedJob: Error {
        var jobID: String
        var error: JobError
    }

    /// Every job the arguments describe, in order; a job that cannot be read becomes a failure.
    private func jobs() throws -> [Result<Job, FailedJob>] {
        var jobs: [Result<Job, FailedJob>] = []
        for path in images {
            let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            jobs.append(makeJob(id: "local-\(name)") {
                try Job.fromFiles([(.front, path)], jobID: "local-\(name)", kioskID: "local")
            })
        }
        if !side.isEmpty {
            let files = try side.map(Self.parseSide)
            jobs.append(makeJob(id: jobID) {
                try Job.fromFiles(files, jobID: jobID, kioskID: "local")
            })
        }
        for path in job {
            let id = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            jobs.append(makeJob(id: id) {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw JobError(.notJSON, field: "", "cannot read the job file '\(path)'")
                }
                return try Job.parse([UInt8](data))
            })
        }
        return jobs
    }

    private func makeJob(id: String, _ make: () throws -> Job) -> Result<Job, FailedJob> {
        do {
            return .success(try make())
        } catch let error as JobError {
            return .failure(FailedJob(jobID: id, error: error))
        } catch {
            return .failure(FailedJob(jobID: id, error: JobError(.schemaViolation, field: "", "\(error)")))
        }
    }

    /// `side=file` from `--side`, or a usage error that lists the sides.
    static func parseSide(_ text: String) throws -> (side: Side, path: String) {
        guard let parsed = Job.sideAndFile(text) else {
            throw ValidationError("--side takes side=file with side one of \(Side.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
        }
        return parsed
    }
}

extension TraceLevel: ExpressibleByArgument {}
