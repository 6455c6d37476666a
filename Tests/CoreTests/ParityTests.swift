import Foundation
import Testing
@testable import Core

/// `gradeline-worker parity`'s comparison against the stage references that
/// experiment/reference.py wrote in Tests/Fixtures/parity/stages/ (a small photo, a tiny model).
@Suite("Parity of every stage with experiment/reference.py")
struct ParityTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let stages = repository.appendingPathComponent("Tests/Fixtures/parity/stages").path
    static let inputs = "\(stages)/inputs"
    static let reference = "\(stages)/reference"

    /// The fixture's config, changed by `edit`, loaded where its relative paths resolve.
    static func config(_ edit: (String) -> String = { $0 }) throws -> PipelineConfig {
        let text = try String(contentsOfFile: "\(inputs)/pipeline.yaml", encoding: .utf8)
        return try PipelineConfig.parse(yaml: edit(text), file: "\(inputs)/pipeline.yaml",
                                        environment: ConfigEnvironment(directory: inputs))
    }

    static func report(_ config: PipelineConfig) throws -> ParityReport {
        let photo = try #require(FileManager.default.contents(atPath: "\(inputs)/front.png"))
        var request = Request(jobID: "parity", kioskID: "test", submittedAt: "2026-01-01T00:00:00Z",
                              photos: Sided([(.front, EncodedImage(contentType: "image/png", bytes: [UInt8](photo)))]))
        let outcome = config.run(&request, level: .full)
        return try Parity.compare(request: request, outcome: outcome, reference: reference, tolerances: config.parity)
    }

    @Test("the worker matches the reference at every stage, from decode to grade")
    func matchingReferencesPass() throws {
        let report = try Self.report(try Self.config())
        #expect(report.passed, "\(report.table)")
        let compared = Set(report.rows.filter { $0.ok == true }.map(\.stage))
        for stage in ["decode/decode_image", "preprocess/resize", "preprocess/normalize", "segment/segment",
                      "segment/argmax_mask", "postprocess/resize_mask", "damages/find_damages", "damages/grade"] {
            #expect(compared.contains(stage), "\(stage) was not compared:\n\(report.table)")
        }
        #expect(report.rows.contains { $0.stage == "damages/find_damages" && $0.measure == "equal" && $0.ok == true })
        #expect(report.table.contains("every compared stage is within tolerance"))
    }

    @Test("a nearest resize against an area reference diverges first at preprocess/resize")
    func nearestResizeIsCaughtAtResize() throws {
        let report = try Self.report(try Self.config { $0.replacingOccurrences(of: "filter: area", with: "filter: nearest") })
        let first = try #require(report.firstDivergence, "\(report.table)")
        #expect(first.stage == "preprocess/resize")
        #expect(first.output == "resized.front")
        #expect(first.measure == "max_abs")
        #expect(report.table.contains("first divergence: preprocess/resize"))
        // Every stage before it still agrees.
        let before = report.rows.prefix { $0.stage != "preprocess/resize" }
        #expect(!before.isEmpty && before.allSatisfy { $0.ok != false })
    }

    @Test("a changed normalize mean diverges first at preprocess/normalize, and a loose tolerance lets it pass")
    func tolerancesComeFromTheParitySection() throws {
        let shifted = try Self.config { $0.replacingOccurrences(of: "mean: [0.485,", with: "mean: [0.48501,") }
        let report = try Self.report(shifted)
        #expect(report.firstDivergence?.stage == "preprocess/normalize", "\(report.table)")
        let loose = try Self.config {
            $0.replacingOccurrences(of: "mean: [0.485,", with: "mean: [0.48501,")
                + "\nparity:\n  normalize: {max_abs: 0.001, mean_abs: 0.001}\n  segment: {max_abs: 1, mean_abs: 1}\n"
        }
        #expect(loose.parity.limits(function: "normalize", kind: "tensor").maxAbs == 0.001)
        let first = try Self.report(loose).firstDivergence
        #expect(first == nil || first?.stage != "preprocess/normalize")
    }

    @Test("the parity: section is validated: unknown functions and measures are named")
    func paritySectionIsValidated() {
        let problems = Fixtures.problems(Fixtures.basicYAML + "\nparity:\n  normalise: {max_abs: 1}\n  resize: {maxabs: 1, agreement: 2}\n")
        #expect(problems.contains { $0.contains("parity: unknown function 'normalise'") && $0.contains("did you mean 'normalize'") })
        #expect(problems.contains { $0.contains("unknown measure 'maxabs'") })
        #expect(problems.contains { $0.contains("'agreement' is a fraction from 0 to 1") })
    }

    @Test("the defaults: images exact, tensors 1e-5, logits 1e-3, masks 99.9% agreement")
    func defaults() {
        let tolerances = ParityTolerances()
        #expect(tolerances.limits(function: "resize", kind: "image").maxAbs == 0)
        #expect(tolerances.limits(function: "normalize", kind: "tensor").maxAbs == 1e-5)
        #expect(tolerances.limits(function: "segment", kind: "tensor").maxAbs == 1e-3)
        #expect(tolerances.limits(function: "argmax_mask", kind: "mask").agreement == 0.999)
    }
}
