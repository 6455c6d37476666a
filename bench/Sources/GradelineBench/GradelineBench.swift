import ArgumentParser
import Core
import Foundation

/// `gradeline-bench`: the Swift side of the benchmarks under bench/.
@main
struct GradelineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradeline-bench",
        abstract: "Times Gradeline's code for the scripts in bench/, which compare it with a baseline.",
        subcommands: [PNGDecode.self])
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
