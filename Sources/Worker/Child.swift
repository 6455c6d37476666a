import ArgumentParser
import Core
import Fleet
import Foundation
import Logging

/// `gradeline-worker child`: one pipeline process of `run`'s prefork pool (not for direct use).
struct Child: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs pipelines for a `run` supervisor over descriptors 3 and 4 (internal).",
        shouldDisplay: false)

    @Option(name: .long, help: ArgumentHelp("Worker settings (YAML).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The pipeline config.", valueName: "file"))
    var pipeline: String

    @Option(name: .long, help: "The supervisor's worker id, which results carry.")
    var workerID: String

    func run() throws {
        LoggingSystem.bootstrapGradeline(defaultLevel: .info)
        ChildMain.run {
            var settings = try WorkerConfiguration.load(file: config)
            settings.pipeline = pipeline
            settings.workerID = workerID
            let pipelineConfig = try PipelineConfig.load(file: pipeline)
            return JobHandler(pipeline: pipelineConfig,
                              fingerprint: Fingerprint(config: pipelineConfig.sha256, models: pipelineConfig.modelHashes,
                                                       workerVersion: Gradeline.version),
                              settings: settings)
        }
    }
}
