import ArgumentParser
import Core

/// `gradeline-producer`: makes, submits, captures and replays grading jobs.
@main
struct GradelineProducer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradeline-producer",
        abstract: "Makes, submits, captures and replays grading jobs (gradeline.job/1).",
        version: Gradeline.version,
        subcommands: [Submit.self, CaptureCommand.self, Replay.self, Bench.self, MakeJob.self])
}
