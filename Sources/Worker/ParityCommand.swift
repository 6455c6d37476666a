import ArgumentParser
import Core
import Foundation

/// `gradeline-worker parity`: the worker's pipeline against experiment/reference.py, stage by stage.
struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Compares the pipeline's every stage with experiment/reference.py's outputs for the same photos.",
        discussion: """
            Make the reference first: python3 experiment/reference.py --out DIR IMAGE... \
            Each IMAGE is side=file or a file (the front); together they are one job. Prints a \
            table (stage, output, measure, value, tolerance, ok) and names the first stage beyond \
            its tolerance (the config's parity: section; docs/pipeline.md lists the defaults). \
            Exits 0 when every stage is within tolerance, 1 when one is not, 2 on a bad config.
            """)

    @Option(name: .long, help: ArgumentHelp("The folder reference.py wrote.", valueName: "dir"))
    var reference: String

    @Argument(help: "The job's photos: side=file, or a file for the front.")
    var images: [String]

    @OptionGroup var pipeline: PipelineOption

    func validate() throws {
        if images.isEmpty { throw ValidationError("give the photos the reference was made from") }
    }

    func run() throws {
        let config = try pipeline.load()
        var files: [(side: Side, path: String)] = []
        for image in images {
            if image.contains("=") { files.append(try Grade.parseSide(image)) } else { files.append((.front, image)) }
        }
        let job = try Job.fromFiles(files, jobID: "parity", kioskID: "local")
        var request = try job.request()
        let outcome = config.run(&request, level: .full)
        do {
            let report = try Parity.compare(request: request, outcome: outcome, reference: reference,
                                            tolerances: config.parity)
            print(report.table, terminator: "")
            if !report.passed { throw ExitCode(1) }
        } catch let error as VerificationError {
            FileHandle.standardError.write(Data("parity: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
