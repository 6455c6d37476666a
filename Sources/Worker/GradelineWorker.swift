import ArgumentParser
import Core

/// `gradeline-worker`: grades jobs, locally or from the broker.
@main
struct GradelineWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradeline-worker",
        abstract: "Grades phone photos with the pipeline that config/pipeline.yaml defines.",
        version: Gradeline.version,
        subcommands: [Run.self, Grade.self, CheckConfig.self, Evaluate.self, CanariesCommand.self, ParityCommand.self,
                      ModelRun.self, Child.self])
}
