import ArgumentParser
import Core

/// `gradeline-worker check-config`: validates a pipeline config and lists its steps.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validates a pipeline config and runs its canaries; exits 2 and lists every problem when it is wrong.",
        discussion: "Exits 3 when a canary job's output differs from its expected.json (see `canaries`).")

    @OptionGroup var pipeline: PipelineOption

    @Flag(name: .long, help: "Only validate; do not run the canary jobs.")
    var skipCanaries = false

    func run() throws {
        let config = try pipeline.load()
        print("\(config.file): ok, config sha256 \(config.sha256)")
        for pipeline in config.main {
            print("  \(pipeline.name):")
            for (index, step) in pipeline.steps.enumerated() {
                print("    \(index + 1). \(step.descriptor.name) [\(step.descriptor.module.rawValue)]")
            }
        }
        if !skipCanaries { try CanaryGate.enforce(config, quiet: false) }
    }
}
