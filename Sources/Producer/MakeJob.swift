import ArgumentParser
import Core
import Foundation

/// `gradeline-producer job`: prints a gradeline.job/1 message made from image files.
struct MakeJob: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Prints a gradeline.job/1 JSON made from one photo per side.")

    @Option(name: .long, help: ArgumentHelp("One side of the phone, as side=file.", valueName: "side=file"))
    var side: [String] = []

    @Option(name: .long, help: "The job id. Default: a random UUID.")
    var jobID: String?

    @Option(name: .long, help: "The kiosk id.")
    var kioskID = "kiosk-local"

    func validate() throws {
        if side.isEmpty { throw ValidationError("give at least one --side side=file") }
    }

    func run() throws {
        let files = try side.map(Self.parseSide)
        let job = try Job.fromFiles(files, jobID: jobID ?? UUID().uuidString.lowercased(), kioskID: kioskID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(job), as: UTF8.self))
    }
}

extension ParsableCommand {
    /// `side=file` from `--side`, or a usage error that lists the sides.
    static func parseSide(_ text: String) throws -> (side: Side, path: String) {
        guard let parsed = Job.sideAndFile(text) else {
            throw ValidationError("--side takes side=file with side one of \(Side.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
        }
        return parsed
    }
}
