import ArgumentParser
import Core

/// `gradeline-producer`: makes, submits, captures and replays grading jobs.
@main
struct GradelineProducer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradeline-producer",
        abstract: "Makes grading jobs (gradeline.job/1) from photos.",
        version: Gradeline.version,
        subcommands: [MakeJob.self])
}
