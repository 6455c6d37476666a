import ArgumentParser
import Core
import Foundation

/// `gradeline-worker evaluate`: grades a golden set and measures how well, against a baseline.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grades a held-out golden set with the configured pipeline and reports how well it did.",
        discussion: """
            Prints a Markdown report; --report FILE.json also writes the JSON report and the \
            Markdown beside it (FILE.md). With --baseline, compares the headline figures with \
            the baseline's, recomputed over the same cases, and exits 1 when any fell by more \
            than --margin. --require-targets also exits 1 when a product target is missed. \
            Exits 2 when the config, the golden set or the baseline cannot be read. Progress \
            goes to stderr.
            """)

    @Option(name: .long, help: ArgumentHelp("The golden set's folder (with manifest.json).", valueName: "dir"))
    var golden: String

    @Option(name: .long, help: ArgumentHelp("A committed report to compare with, such as models/evaluation.json.", valueName: "file"))
    var baseline: String?

    @Option(name: .long, help: ArgumentHelp("Where to write the JSON report; the Markdown goes beside it.", valueName: "file.json"))
    var report: String?

    @Option(name: .long, help: ArgumentHelp("Only these cases (repeatable), or 'gate' for the manifest's quick gate.", valueName: "id"))
    var `case`: [String] = []

    @Option(name: .long, help: "How far a headline figure may fall below the baseline's before the run fails.")
    var margin: Double = 0.02

    @Flag(name: .long, help: "Also fail when a product target (shown in the report) is missed.")
    var requireTargets = false

    @Option(name: .long, help: "Found and drawn damages match when their boxes, the drawn one grown by this many pixels, overlap.")
    var matchMargin = 8

    @OptionGroup var pipeline: PipelineOption

    func run() throws {
        Allocator.keepJobBuffers()
        let config = try pipeline.load()
        let set: GoldenSet
        let cases: [GoldenCase]
        let baselineReport: EvaluationReport?
        do {
            set = try GoldenSet.load(golden)
            cases = try set.cases(selection(set))
            baselineReport = try baseline.map(EvaluationReport.load)
        } catch {
            FileHandle.standardError.write(Data("evaluate: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let fingerprint = Fingerprint(config: config.sha256, models: config.modelHashes, workerVersion: Gradeline.version)
        var scores: [CaseScore] = []
        for (index, golden) in cases.enumerated() {
            let score: CaseScore
            do {
                score = try Self.score(golden, config: config, fingerprint: fingerprint, matchMargin: matchMargin)
            } catch {
                FileHandle.standardError.write(Data("evaluate: \(error)\n".utf8))
                throw ExitCode(2)
            }
            scores.append(score)
            let got = score.status == "graded" ? "grade \(score.grade ?? "?")" : "\(score.status) \(score.reasons.joined(separator: ","))"
            let expected = score.expectedStatus == "graded" ? "grade \(score.expectedGrade ?? "?")" : "rejected \(score.expectedCode ?? "?")"
            FileHandle.standardError.write(Data(String(format: "[%d/%d] %@ %@ (expected %@) %.0f ms%@\n",
                                                       index + 1, cases.count, score.id, got, expected,
                                                       score.milliseconds, score.agrees ? "" : "  <- differs").utf8))
        }
        let evaluation = EvaluationReport(golden: golden, fingerprint: fingerprint, cases: scores)
        let regressions: [Regression]
        do {
            regressions = try baselineReport.map { try evaluation.regressions(against: $0, margin: margin) } ?? []
        } catch {
            FileHandle.standardError.write(Data("evaluate: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let markdown = evaluation.markdown(regressions: regressions)
        print(markdown, terminator: "")
        if let path = report {
            try evaluation.json().write(toFile: path, atomically: true, encoding: .utf8)
            let markdownPath = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("md").path
            try markdown.write(toFile: markdownPath, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("evaluate: wrote \(path) and \(markdownPath)\n".utf8))
        }
        let missed = requireTargets ? Target.all.filter { $0.met(by: evaluation.figures) == false } : []
        for regression in regressions {
            FileHandle.standardError.write(Data("evaluate: regression: \(regression)\n".utf8))
        }
        for target in missed {
            FileHandle.standardError.write(Data("evaluate: target missed: \(target.figure) is \(Figures.format(evaluation.figures.headline[target.figure])), needs ≥ \(Figures.format(target.atLeast))\n".utf8))
        }
        if !regressions.isEmpty || !missed.isEmpty { throw ExitCode(1) }
    }

    private func selection(_ set: GoldenSet) throws(EvaluationError) -> [String]? {
        if `case` == ["gate"] {
            guard let gate = set.manifest.gate, !gate.isEmpty else {
                throw EvaluationError("\(golden)/manifest.json has no gate cases")
            }
            return gate
        }
        return `case`.isEmpty ? nil : `case`
    }

    /// Runs one case through the pipeline as a kiosk job and scores the result.
    static func score(_ golden: GoldenCase, config: PipelineConfig, fingerprint: Fingerprint,
                      matchMargin: Int) throws -> CaseScore {
        let started = ContinuousClock.now
        var masks = Sided<Mask>()
        let result: GradingResult
        do {
            var request = try golden.job().request()
            let outcome = config.run(&request, level: .summary)
            masks = request[.photoMask] ?? Sided()
            result = GradingResult(request: request, outcome: outcome, fingerprint: fingerprint, workerID: "evaluate")
        } catch let error as JobError {
            result = GradingResult(jobID: golden.truth.id, failure: Failure(job: error),
                                   fingerprint: fingerprint, workerID: "evaluate")
        }
        let elapsed = ContinuousClock.now - started
        var labels = Sided<Mask>()
        for side in Side.allCases { labels[side] = try golden.labels(side) }
        return try CaseScore(truth: golden.truth, result: result, masks: masks, labels: labels,
                             milliseconds: Pipeline.milliseconds(elapsed),
                             marginPixels: matchMargin)
    }
}
