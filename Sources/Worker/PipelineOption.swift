import ArgumentParser
import Core
import Foundation

/// `--pipeline FILE`, shared by the commands that load a pipeline config.
struct PipelineOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The pipeline config. Default: $GRADELINE_PIPELINE, else config/pipeline.yaml.",
        valueName: "file"))
    var pipeline: String?

    init() {}

    init(pipeline: String?) { self.pipeline = pipeline }

    var path: String {
        pipeline ?? ProcessInfo.processInfo.environment["GRADELINE_PIPELINE"] ?? "config/pipeline.yaml"
    }

    /// Loads the config, or prints every problem and exits with status 2.
    func load() throws -> PipelineConfig {
        do {
            return try PipelineConfig.load(file: path)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}
