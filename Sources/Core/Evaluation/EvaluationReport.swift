import Foundation

/// What `gradeline-worker evaluate` found on a golden set (`gradeline.evaluation/1`): the
/// figures, each case's score, and what produced them.
public struct EvaluationReport: Codable, Sendable {
    public static let schemaID = "gradeline.evaluation/1"

    public var schema = Self.schemaID
    public var golden: String
    public var fingerprint: Fingerprint
    public var figures: Figures
    public var cases: [CaseScore]

    public init(golden: String, fingerprint: Fingerprint, cases: [CaseScore]) {
        self.golden = golden
        self.fingerprint = fingerprint
        self.cases = cases
        figures = Figures(cases)
    }

    /// The report in `file`, checked to be one.
    public static func load(_ file: String) throws(EvaluationError) -> EvaluationReport {
        let report: EvaluationReport = try GoldenSet.readJSON(URL(fileURLWithPath: file))
        guard report.schema == schemaID else {
            throw EvaluationError("\(file): schema is '\(report.schema)', expected \(schemaID)")
        }
        return report
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
    }
}

/// The set's figures, all computed from case scores.
public struct Figures: Codable, Sendable, Hashable {
    public var cases: Int
    public var phones: Int
    public var mustRejects: Int
    /// Good photos graded rather than rejected or failed, over good photos.
    public var acceptedRate: Double?
    /// Rejections of good photos, by code (a photo may have several).
    public var falseRejections: [String: Int]
    /// Clean phones graded A, over clean phones.
    public var cleanGradeARate: Double?
    /// Phones graded what the truth says, over phones.
    public var gradeAgreement: Double?
    /// Expected grade, then what came out (a grade, `rejected` or `failed`), then count.
    public var confusion: [String: [String: Int]]
    /// Must-reject photos rejected with the right code, over must-reject photos.
    public var mustRejectCorrect: Double?
    /// Must-reject cases that were not, with what they got.
    public var mustRejectMisses: [String: String]
    /// Recall and precision by damage type, and by `side.type`.
    public var damage: [String: Detection]
    public var damageBySide: [String: Detection]
    /// Intersection over union by class, over every pixel of the label maps.
    public var iou: [String: Double]
    /// Good photos in styles training never saw: accepted and agreeing, over them.
    public var heldOutAcceptedRate: Double?
    public var heldOutGradeAgreement: Double?
    public var millisecondsMedian: Double?
    public var millisecondsP90: Double?

    public struct Detection: Codable, Sendable, Hashable {
        public var truth: Int
        public var predicted: Int
        public var recall: Double?
        public var precision: Double?
    }

    public init(_ scores: [CaseScore]) {
        let phones = scores.filter { $0.expectedStatus == "graded" }
        let rejects = scores.filter { $0.expectedStatus == "rejected" }
        let clean = phones.filter { $0.expectedGrade == "A" }
        let heldOut = phones.filter(\.heldOut)
        cases = scores.count
        self.phones = phones.count
        mustRejects = rejects.count
        acceptedRate = Self.rate(phones) { $0.status == "graded" }
        falseRejections = phones.reduce(into: [:]) { counts, score in
            for code in Set(score.reasons) { counts[code, default: 0] += 1 }
        }
        cleanGradeARate = Self.rate(clean) { $0.status == "graded" && $0.grade == "A" }
        gradeAgreement = Self.rate(phones, \.agrees)
        confusion = phones.reduce(into: [:]) { table, score in
            let got = score.status == "graded" ? score.grade ?? "none" : score.status
            table[score.expectedGrade ?? "none", default: [:]][got, default: 0] += 1
        }
        mustRejectCorrect = Self.rate(rejects, \.agrees)
        mustRejectMisses = Dictionary(uniqueKeysWithValues: rejects.filter { !$0.agrees }.map { score in
            (score.id, score.status == "graded" ? "graded \(score.grade ?? "")"
                : "\(score.status) \(score.reasons.joined(separator: ","))\(score.error ?? "")")
        })
        let tallies = scores.flatMap(\.damages)
        damage = Self.detections(tallies) { $0.type }
        damageBySide = Self.detections(tallies) { "\($0.side.rawValue).\($0.type)" }
        var pixels: [String: (Int, Int, Int)] = [:]
        for count in scores.flatMap(\.pixels) {
            let (i, p, a) = pixels[count.name] ?? (0, 0, 0)
            pixels[count.name] = (i + count.intersection, p + count.predicted, a + count.actual)
        }
        iou = pixels.compactMapValues { i, p, a in p + a - i > 0 && a > 0 ? Double(i) / Double(p + a - i) : nil }
        heldOutAcceptedRate = Self.rate(heldOut) { $0.status == "graded" }
        heldOutGradeAgreement = Self.rate(heldOut, \.agrees)
        let times = scores.map(\.milliseconds).sorted()
        millisecondsMedian = times.isEmpty ? nil : times[times.count / 2]
        millisecondsP90 = times.isEmpty ? nil : times[min(times.count - 1, times.count * 9 / 10)]
    }

    static func rate(_ scores: [CaseScore], _ holds: (CaseScore) -> Bool) -> Double? {
        scores.isEmpty ? nil : Double(scores.filter(holds).count) / Double(scores.count)
    }

    static func detections(_ tallies: [CaseScore.DamageTally],
                           by key: (CaseScore.DamageTally) -> String) -> [String: Detection] {
        Dictionary(grouping: tallies, by: key).mapValues { group in
            let truth = group.map(\.truth).reduce(0, +), predicted = group.map(\.predicted).reduce(0, +)
            return Detection(
                truth: truth, predicted: predicted,
                recall: truth == 0 ? nil : Double(group.map(\.recalled).reduce(0, +)) / Double(truth),
                precision: predicted == 0 ? nil : Double(group.map(\.correct).reduce(0, +)) / Double(predicted))
        }
    }

    /// The figures a new model must not make worse, by name. Time is left out: it is noisy.
    public var headline: [String: Double] {
        var figures: [String: Double] = [:]
        figures["accepted_rate"] = acceptedRate
        figures["clean_grade_a_rate"] = cleanGradeARate
        figures["grade_agreement"] = gradeAgreement
        figures["must_reject_correct"] = mustRejectCorrect
        for (type, detection) in damage {
            figures["damage.\(type).recall"] = detection.recall
            figures["damage.\(type).precision"] = detection.precision
        }
        for (name, value) in iou { figures["iou.\(name)"] = value }
        return figures
    }

    enum CodingKeys: String, CodingKey {
        case cases, phones, confusion, damage, iou
        case mustRejects = "must_rejects"
        case acceptedRate = "accepted_rate"
        case falseRejections = "false_rejections"
        case cleanGradeARate = "clean_grade_a_rate"
        case gradeAgreement = "grade_agreement"
        case mustRejectCorrect = "must_reject_correct"
        case mustRejectMisses = "must_reject_misses"
        case damageBySide = "damage_by_side"
        case heldOutAcceptedRate = "held_out_accepted_rate"
        case heldOutGradeAgreement = "held_out_grade_agreement"
        case millisecondsMedian = "ms_median"
        case millisecondsP90 = "ms_p90"
    }
}

/// A headline figure that dropped against the baseline by more than the margin.
public struct Regression: Sendable, Hashable, CustomStringConvertible {
    public var figure: String
    public var baseline: Double
    public var current: Double
    public var margin: Double

    public var description: String {
        "\(figure) fell from \(Figures.format(baseline)) to \(Figures.format(current)) (margin \(Figures.format(margin)))"
    }
}

extension EvaluationReport {
    /// Each headline figure that is lower than the baseline's, recomputed over the same cases,
    /// by more than its margin. A figure the baseline has and this report lacks counts as a
    /// drop to 0, so that a model that stops finding a class cannot pass.
    public func regressions(against baseline: EvaluationReport, margin: Double,
                            margins: [String: Double] = [:]) throws(EvaluationError) -> [Regression] {
        let ids = Set(cases.map(\.id))
        let same = baseline.cases.filter { ids.contains($0.id) }
        let missing = ids.subtracting(same.map(\.id))
        guard missing.isEmpty else {
            throw EvaluationError("the baseline has no score for \(missing.sorted().joined(separator: ", ")); make a new baseline on the full set")
        }
        let before = Figures(same).headline, after = figures.headline
        return before.keys.sorted().compactMap { name in
            let allowed = margins[name] ?? margin
            let current = after[name] ?? 0
            guard let previous = before[name], current < previous - allowed else { return nil }
            return Regression(figure: name, baseline: previous, current: current, margin: allowed)
        }
    }
}

/// The figures the product needs (issue 10's "done when"), shown in every report.
public struct Target: Sendable, Hashable {
    public var figure: String
    public var atLeast: Double

    public static let all: [Target] = [
        Target(figure: "accepted_rate", atLeast: 0.95),
        Target(figure: "clean_grade_a_rate", atLeast: 0.90),
        Target(figure: "grade_agreement", atLeast: 0.85),
        Target(figure: "must_reject_correct", atLeast: 1.0),
    ] + ["crack", "scratch", "chip"].flatMap { type in
        [Target(figure: "damage.\(type).recall", atLeast: 0.85),
         Target(figure: "damage.\(type).precision", atLeast: 0.85)]
    }

    /// Whether `figures` meets it; a figure the set cannot measure (no such cases) is nil.
    public func met(by figures: Figures) -> Bool? {
        figures.headline[figure].map { $0 >= atLeast - 1e-9 }
    }
}

extension Figures {
    public static func format(_ value: Double?) -> String {
        guard let value else { return "n/a" }
        return String(format: "%.3f", value)
    }
}
