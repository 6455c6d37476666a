import ArgumentParser
import Foundation
import Inference

/// `gradeline-worker model-run`: runs any supported ONNX model on a float32 .npy tensor.
struct ModelRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-run",
        abstract: "Runs an ONNX model on a float32 .npy input and writes its first output as .npy.",
        discussion: "Use it to check the executor against another runtime on your own model.")

    @Option(name: .long, help: ArgumentHelp("The ONNX model.", valueName: "file"))
    var model: String

    @Option(name: .long, help: ArgumentHelp("A float32 .npy tensor in the model's input shape.", valueName: "file"))
    var input: String

    @Option(name: .long, help: ArgumentHelp("Where to write the first output.", valueName: "file"))
    var output: String

    @Option(name: .long, help: "Threads for the convolutions and the element-wise work.")
    var threads = 1

    func run() throws {
        do {
            InferenceModel.setThreads(threads)
            let loaded = try InferenceModel(contentsOf: model)
            let tensor = try NPY.read(input)
            let start = ContinuousClock.now
            let results = try loaded.run(tensor, threads: threads)
            let elapsed = start.duration(to: .now)
            guard let name = loaded.outputs.first, let result = results[name] else {
                throw InferenceError(.malformedModel, "the model produced no output")
            }
            try NPY.write(result, to: output)
            FileHandle.standardError.write(Data("\(name) \(result.shape) -> \(output) in \(elapsed)\n".utf8))
        } catch let error as InferenceError {
            FileHandle.standardError.write(Data("model-run: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
