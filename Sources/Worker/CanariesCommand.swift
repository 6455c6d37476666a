import ArgumentParser
import Core
import Foundation

/// `gradeline-worker canaries`: checks the config's canary jobs, or records them again.
struct CanariesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canaries",
        abstract: "Runs the canary jobs of the config's canaries: section against their expected.json, or records them.",
        discussion: """
            Without --record it does what `run` does before it consumes: exits 0 when every \
            canary matches, 3 naming the first stage whose hash changed. With --record it runs \
            them and writes each job's expected.json: do that after a deliberate change of the \
            model or the config, and commit the files with it.
            """)

    @OptionGroup var pipeline: PipelineOption

    @Flag(name: .long, help: "Write each canary's expected.json from this run.")
    var record = false

    func run() throws {
        let config = try pipeline.load()
        guard config.canaries != nil else {
            FileHandle.standardError.write(Data("\(config.file) has no 'canaries:' section\n".utf8))
            throw ExitCode(2)
        }
        if record {
            do {
                for (job, file, expectation) in try Canaries.record(config) {
                    let grade = expectation.grade.map { "grade \($0.value) (\($0.rule))" } ?? expectation.status
                    print("\(job): \(expectation.steps.count) steps, \(grade) -> \(file)")
                }
            } catch {
                FileHandle.standardError.write(Data("canaries: \(error)\n".utf8))
                throw ExitCode(3)
            }
            return
        }
        try CanaryGate.enforce(config, quiet: false)
    }
}

/// Running the canaries as a gate: `run`, `check-config` and `canaries` share it.
enum CanaryGate {
    /// Exit status when a canary differs or cannot run.
    static let failed: Int32 = 3

    /// Runs the config's canaries; prints one line per job unless `quiet`, and on a difference
    /// writes it to standard error and exits 3.
    static func enforce(_ config: PipelineConfig, quiet: Bool) throws {
        guard config.canaries != nil else { return }
        let results: [CanaryResult]
        do {
            results = try Canaries.verify(config)
        } catch {
            FileHandle.standardError.write(Data("canaries: \(error)\n".utf8))
            throw ExitCode(failed)
        }
        for result in results {
            if let mismatch = result.mismatch {
                FileHandle.standardError.write(Data("\(mismatch)\n".utf8))
                throw ExitCode(failed)
            }
            if !quiet {
                let grade = result.grade.map { "grade \($0.value)" } ?? "no grade"
                print("canary \(result.job): ok (\(result.steps) steps, \(grade))")
            }
        }
    }
}
