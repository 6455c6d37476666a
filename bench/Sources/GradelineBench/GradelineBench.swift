import ArgumentParser
import Core
import Foundation
import Inference

/// `gradeline-bench`: the Swift side of the benchmarks under bench/.
@main
struct GradelineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradeline-bench",
        abstract: "Times Gradeline's code for the scripts in bench/, which compare it with a baseline.",
        subcommands: [PNGDecode.self, Inference.self])
}

/// Decodes files with `PNG.decode` and prints the time of each decode.
struct PNGDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "png-decode",
        abstract: "Prints, per file: the file, 0, each decode's milliseconds, mp=megapixels.")

    @Argument var iterations: Int
    @Argument var files: [String]

    func run() throws {
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(path)")
            }
            let bytes = [UInt8](data)
            var line = "\(path) 0.000000"
            var megapixels = 0.0
            for _ in 0..<iterations {
                let start = ContinuousClock.now
                let image = try PNG.decode(bytes)
                let elapsed = start.duration(to: .now)
                megapixels = Double(image.pixelCount) / 1e6
                let (seconds, attoseconds) = elapsed.components
                line += String(format: " %.4f", Double(seconds) * 1e3 + Double(attoseconds) / 1e15)
            }
            print(line + String(format: " mp=%.6f", megapixels))
        }
    }
}

/// Runs a model on a .npy input and prints the time of each run.
struct Inference: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference",
        abstract: "Prints each run's milliseconds, one per line, after one warm-up run.")

    @Option var model: String
    @Option var input: String
    @Option var threads = 1
    @Option var runs = 10
    @Option(help: "Write the model's first output of the warm-up run to this .npy file.")
    var output: String?

    func run() throws {
        InferenceModel.setThreads(threads)
        let loaded = try InferenceModel(contentsOf: model)
        let tensor = try NPY.read(input)
        let results = try loaded.run(tensor, threads: threads)
        if let output, let name = loaded.outputs.first, let result = results[name] { try NPY.write(result, to: output) }
        for _ in 0..<runs {
            let start = ContinuousClock.now
            _ = try loaded.run(tensor, threads: threads)
            let (seconds, attoseconds) = start.duration(to: .now).components
            print(String(format: "%.3f", Double(seconds) * 1e3 + Double(attoseconds) / 1e15))
        }
    }
}
