import Foundation
import Testing
@testable import Core

@Suite("Evaluation on a golden set: matching, figures and the baseline gate")
struct EvaluationTests {
    static let fingerprint = Fingerprint(config: "c", models: ["damage": "m"], workerVersion: "test")

    static func box(_ x: Int, _ y: Int, _ size: Int = 40) -> BoundingBox {
        BoundingBox(x: x, y: y, width: size, height: size)
    }

    static func found(_ type: String, _ box: BoundingBox, side: Side = .front) -> Damage {
        Damage(side: side, type: type, zone: "screen", bbox: box, areaPixels: 500, zoneRatio: 0.01, severity: "minor")
    }

    static func score(_ id: String, expect: String, got: String?, reasons: [String] = [],
                      heldOut: Bool = false, damages: [CaseScore.DamageTally] = []) -> CaseScore {
        let rejected = expect.hasPrefix("rejected:")
        return CaseScore(id: id, kind: rejected ? "must_reject" : "phone", heldOut: heldOut,
                         expectedStatus: rejected ? "rejected" : "graded",
                         expectedGrade: rejected ? nil : expect,
                         expectedCode: rejected ? String(expect.dropFirst("rejected:".count)) : nil,
                         status: got == nil ? "rejected" : "graded", grade: got, reasons: reasons,
                         error: nil, damages: damages, pixels: [], milliseconds: 10)
    }

    static func tally(_ type: String, truth: Int, recalled: Int, predicted: Int, correct: Int) -> CaseScore.DamageTally {
        CaseScore.DamageTally(side: .front, type: type, truth: truth, recalled: recalled,
                              predicted: predicted, correct: correct)
    }

    @Test("a found damage matches a drawn one of its type and side whose grown box it overlaps")
    func matching() {
        let truth = [GoldenTruth.Damage(side: .front, type: "crack", zone: "screen", bbox: Self.box(100, 100)),
                     GoldenTruth.Damage(side: .front, type: "chip", zone: "edge", bbox: Self.box(0, 0, 20)),
                     GoldenTruth.Damage(side: .back, type: "crack", zone: "body", bbox: Self.box(300, 300))]
        let found = [Self.found("crack", Self.box(145, 100)),            // 5 px right of the crack: within 8
                     Self.found("scratch", Self.box(100, 100)),          // the right place, the wrong type
                     Self.found("crack", Self.box(300, 300), side: .front)] // the back's place, the wrong side
        let tallies = Dictionary(uniqueKeysWithValues: CaseScore.tally(truth: truth, found: found, margin: 8)
            .map { ("\($0.side.rawValue).\($0.type)", $0) })
        #expect(tallies["front.crack"] == Self.tally("crack", truth: 1, recalled: 1, predicted: 2, correct: 1))
        #expect(tallies["front.scratch"] == Self.tally("scratch", truth: 0, recalled: 0, predicted: 1, correct: 0))
        #expect(tallies["front.chip"] == Self.tally("chip", truth: 1, recalled: 0, predicted: 0, correct: 0))
        #expect(tallies["back.crack"]?.recalled == 0)
        #expect(CaseScore.tally(truth: truth, found: [Self.found("crack", Self.box(149, 100))], margin: 8)
            .first { $0.side == .front && $0.type == "crack" }?.recalled == 0)
    }

    @Test("figures count acceptance, clean A, agreement, must-rejects and detection")
    func figures() {
        let figures = Figures([
            Self.score("clean-ok", expect: "A", got: "A"),
            Self.score("clean-b", expect: "A", got: "B", damages: [Self.tally("scratch", truth: 0, recalled: 0, predicted: 1, correct: 0)]),
            Self.score("cracked", expect: "D", got: "D", heldOut: true, damages: [Self.tally("crack", truth: 2, recalled: 1, predicted: 1, correct: 1)]),
            Self.score("cut", expect: "C", got: nil, reasons: ["phone_cut_off"], heldOut: true),
            Self.score("dark", expect: "rejected:too_dark", got: nil, reasons: ["too_dark"]),
            Self.score("blur", expect: "rejected:blurred", got: "A"),
        ])
        #expect(figures.phones == 4 && figures.mustRejects == 2)
        #expect(figures.acceptedRate == 0.75)
        #expect(figures.cleanGradeARate == 0.5)
        #expect(figures.gradeAgreement == 0.5)
        #expect(figures.mustRejectCorrect == 0.5)
        #expect(figures.mustRejectMisses == ["blur": "graded A"])
        #expect(figures.falseRejections == ["phone_cut_off": 1])
        #expect(figures.confusion["C"] == ["rejected": 1])
        #expect(figures.damage["crack"]?.recall == 0.5 && figures.damage["crack"]?.precision == 1)
        #expect(figures.damage["scratch"]?.recall == nil && figures.damage["scratch"]?.precision == 0)
        #expect(figures.heldOutAcceptedRate == 0.5 && figures.heldOutGradeAgreement == 0.5)
        #expect(Target(figure: "must_reject_correct", atLeast: 1).met(by: figures) == false)
    }

    @Test("the gate fails on a figure that fell past the margin, over the same cases only")
    func regressions() throws {
        let good = [Self.score("a", expect: "A", got: "A"), Self.score("b", expect: "D", got: "D"),
                    Self.score("c", expect: "C", got: "C")]
        let baseline = EvaluationReport(golden: "g", fingerprint: Self.fingerprint, cases: good)
        let same = EvaluationReport(golden: "g", fingerprint: Self.fingerprint, cases: Array(good.prefix(2)))
        #expect(try same.regressions(against: baseline, margin: 0.02).isEmpty)

        let worse = EvaluationReport(golden: "g", fingerprint: Self.fingerprint,
                                     cases: [good[0], Self.score("b", expect: "D", got: "C")])
        let found = try worse.regressions(against: baseline, margin: 0.02)
        #expect(found.map(\.figure) == ["grade_agreement"])
        #expect(found.first?.baseline == 1 && found.first?.current == 0.5)
        #expect(try worse.regressions(against: baseline, margin: 0.6).isEmpty)
        #expect(try worse.regressions(against: baseline, margin: 0.02, margins: ["grade_agreement": 0.5]).isEmpty)

        let unknown = EvaluationReport(golden: "g", fingerprint: Self.fingerprint, cases: [Self.score("z", expect: "A", got: "A")])
        #expect(throws: EvaluationError.self) { try unknown.regressions(against: baseline, margin: 0.02) }
    }

    @Test("a report survives its JSON, and its Markdown names the misses")
    func reportRoundTrip() throws {
        let report = EvaluationReport(golden: "g", fingerprint: Self.fingerprint, cases: [
            Self.score("a", expect: "A", got: "A"), Self.score("b", expect: "rejected:blurred", got: "B")])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID()).json").path
        try report.json().write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = try EvaluationReport.load(path)
        #expect(loaded.cases == report.cases && loaded.figures == report.figures)
        let markdown = report.markdown()
        #expect(markdown.contains("| b |  | rejected blurred | grade B |"))
        #expect(markdown.contains("| must_reject_correct | 0.000 | ≥ 1.000 | **no** |"))
    }

    @Test("a mask of another size than its label map is an error naming the case and side")
    func sizeMismatch() {
        let labels = Sided([(Side.front, Mask(width: 4, height: 8, labels: .init(repeating: 0, count: 32), classes: GoldenTruth.classes))])
        let masks = Sided([(Side.front, Mask(width: 8, height: 4, labels: .init(repeating: 0, count: 32), classes: GoldenTruth.classes))])
        #expect {
            _ = try CaseScore.pixels(masks: masks, labels: labels, id: "g007")
        } throws: { error in
            "\(error)".contains("g007") && "\(error)".contains("front") && "\(error)".contains("orientation")
        }
        let right = Sided([(Side.front, Mask(width: 4, height: 8, labels: [1] + .init(repeating: 0, count: 31), classes: GoldenTruth.classes))])
        let counts = try? CaseScore.pixels(masks: right, labels: labels, id: "g007")
        #expect(counts?.first { $0.name == "background" } == CaseScore.ClassPixels(name: "background", intersection: 31, predicted: 31, actual: 32))
    }

    @Test("a golden set names the file and the case that are wrong")
    func goldenErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("g1"), withIntermediateDirectories: true)
        try #"{"schema": "gradeline.golden/1", "cases": ["g1"]}"#.write(
            to: folder.appendingPathComponent("manifest.json"), atomically: true, encoding: .utf8)
        try #"{"id": "g2", "kind": "phone", "photos": {}, "damages": [], "expected": {"status": "graded"}}"#.write(
            to: folder.appendingPathComponent("g1/truth.json"), atomically: true, encoding: .utf8)
        let set = try GoldenSet.load(folder.path)
        #expect { _ = try set.cases(["g9"]) } throws: { "\($0)".contains("'g9'") }
        #expect { _ = try set.cases() } throws: { "\($0)".contains("g1/truth.json") && "\($0)".contains("'g2'") }
    }
}
