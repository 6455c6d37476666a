import Foundation

/// One line of a parity table: how one output of one step compares with the reference.
public struct ParityRow: Sendable, Hashable {
    /// `pipeline/function`, as failures name stages.
    public var stage: String
    /// `artifact.side`, `artifact`, or `-` for the step as a whole.
    public var output: String
    public var measure: String
    public var value: String
    public var tolerance: String
    /// Whether it is within tolerance; nil when it was not compared (the reference lacks it).
    public var ok: Bool?
}

/// The comparison of a worker run with experiment/reference.py's outputs, stage by stage.
public struct ParityReport: Sendable {
    public var rows: [ParityRow]

    /// The first row beyond its tolerance: the first stage where the two part.
    public var firstDivergence: ParityRow? { rows.first { $0.ok == false } }

    public var passed: Bool { firstDivergence == nil }

    /// The rows as an aligned text table, then a line naming the first divergence.
    public var table: String {
        let header = ["stage", "output", "measure", "value", "tolerance", "ok"]
        let cells = rows.map { [$0.stage, $0.output, $0.measure, $0.value, $0.tolerance,
                                $0.ok.map { $0 ? "yes" : "NO" } ?? "-"] }
        let widths = header.indices.map { column in
            ([header] + cells).map { $0[column].count }.max() ?? 0
        }
        func line(_ row: [String]) -> String {
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var text = ([header] + cells).map(line).joined(separator: "\n") + "\n"
        if let first = firstDivergence {
            text += "first divergence: \(first.stage) (\(first.output): \(first.measure) \(first.value), tolerance \(first.tolerance))\n"
        } else {
            text += "parity: every compared stage is within tolerance\n"
        }
        return text
    }
}

/// What experiment/reference.py writes next to the stage outputs.
struct ReferenceManifest: Decodable {
    struct Output: Decodable {
        var artifact: String
        var side: String?
        var kind: String
        var file: String
        var sha256: String?
    }

    struct Step: Decodable {
        var stage: String
        var status: String?
        var outputs: [Output]
    }

    struct Reason: Decodable, Hashable {
        var code: String
        var side: String?
    }

    var format: String
    var steps: [Step]
    var status: String
    var reasons: [Reason]?
}

/// `gradeline-worker parity`'s comparison, here so that tests can run it without the command.
public enum Parity {
    /// Compares a run (its Request after `PipelineConfig.run`, and the outcome) with the
    /// reference folder that `experiment/reference.py --out` wrote for the same photos.
    public static func compare(request: Request, outcome: Outcome, reference directory: String,
                               tolerances: ParityTolerances) throws(VerificationError) -> ParityReport {
        let manifestPath = "\(directory)/manifest.json"
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw VerificationError("no \(manifestPath): make the reference with `python3 experiment/reference.py --out \(directory) IMAGE...`")
        }
        let manifest: ReferenceManifest
        do {
            manifest = try JSONDecoder().decode(ReferenceManifest.self, from: data)
        } catch {
            throw VerificationError("\(manifestPath) is not a reference manifest: \(error)")
        }
        guard manifest.format == "gradeline.reference/1" else {
            throw VerificationError("\(manifestPath) has format '\(manifest.format)'; this worker reads gradeline.reference/1")
        }
        var rows: [ParityRow] = []
        var remaining = manifest.steps
        for entry in request.trace {
            let stage = "\(entry.pipeline)/\(entry.function)"
            guard let index = remaining.firstIndex(where: { $0.stage == stage }) else {
                rows.append(ParityRow(stage: stage, output: "-", measure: "step", value: "not in the reference",
                                      tolerance: "present", ok: false))
                continue
            }
            let step = remaining.remove(at: index)
            let status = step.status ?? "ok"
            if status == "skipped" {
                rows.append(ParityRow(stage: stage, output: "-", measure: "step", value: "not modelled by reference.py",
                                      tolerance: "-", ok: nil))
                continue
            }
            if status != entry.status.rawValue {
                rows.append(ParityRow(stage: stage, output: "-", measure: "status",
                                      value: "\(entry.status.rawValue) vs \(status)", tolerance: "equal", ok: false))
                continue
            }
            if entry.status == .rejected {
                let ours = Set((entry.reasons ?? []).map { ReferenceManifest.Reason(code: $0.code, side: $0.side?.rawValue) })
                let theirs = Set(manifest.reasons ?? [])
                rows.append(ParityRow(stage: stage, output: "-", measure: "reasons",
                                      value: ours.map(\.code).sorted().joined(separator: ","), tolerance: "equal",
                                      ok: ours == theirs))
                continue
            }
            if entry.outputs.isEmpty {
                // A check: it writes nothing, and passing on both sides is what must agree.
                rows.append(ParityRow(stage: stage, output: "-", measure: "status", value: entry.status.rawValue,
                                      tolerance: "equal", ok: true))
            }
            for output in entry.outputs {
                let name = output.side.map { "\(output.artifact).\($0.rawValue)" } ?? output.artifact
                guard let file = step.outputs.first(where: { $0.artifact == output.artifact && $0.side == output.side?.rawValue }) else {
                    rows.append(ParityRow(stage: stage, output: name, measure: "output", value: "not in the reference",
                                          tolerance: "-", ok: nil))
                    continue
                }
                let limits = tolerances.limits(function: entry.function, kind: output.kind)
                rows += try compare(request.artifact(named: output.artifact), side: output.side, summary: output,
                                    file: "\(directory)/\(file.file)", stage: stage, name: name, limits: limits)
            }
        }
        rows.append(ParityRow(stage: "outcome", output: "-", measure: "status",
                              value: outcome.status == manifest.status ? outcome.status : "\(outcome.status) vs \(manifest.status)",
                              tolerance: "equal", ok: outcome.status == manifest.status))
        return ParityReport(rows: rows)
    }

    private static func compare(_ artifact: (any Artifact)?, side: Side?, summary: OutputSummary, file: String,
                                stage: String, name: String, limits: ParityTolerances.Limits)
        throws(VerificationError) -> [ParityRow] {
        func row(_ measure: String, _ value: String, _ tolerance: String, _ ok: Bool?) -> ParityRow {
            ParityRow(stage: stage, output: name, measure: measure, value: value, tolerance: tolerance, ok: ok)
        }
        switch summary.kind {
        case "damages", "grade":
            guard let data = FileManager.default.contents(atPath: file) else { throw VerificationError("cannot read \(file)") }
            let equal: Bool
            let value: String
            do {
                if let damages = artifact as? Damages {
                    let theirs = try JSONDecoder().decode([Damage].self, from: data)
                    equal = damages.items == theirs
                    let first = zip(damages.items, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    value = equal ? "\(theirs.count) equal"
                        : "\(damages.items.count) vs \(theirs.count)" + (first.map { ", #\($0 + 1) differs" } ?? "")
                } else if let grade = artifact as? Grade {
                    let theirs = try JSONDecoder().decode(Grade.self, from: data)
                    equal = grade == theirs
                    value = equal ? "\(grade.value) (\(grade.rule))" : "\(grade.value) (\(grade.rule)) vs \(theirs.value) (\(theirs.rule))"
                } else {
                    return [row("equal", "unknown artifact type", "exact", nil)]
                }
            } catch {
                throw VerificationError("\(file): \(error)")
            }
            return [row("equal", value, "exact", equal)]
        case "image", "mask", "tensor":
            let reference = try NumpyFile.read(file)
            let ours: [Double]
            var classes = 0
            switch artifact {
            case let images as Sided<Image>:
                guard let side, let image = images[side] else { return [row("output", "missing in the run", "-", false)] }
                ours = image.pixels.map(Double.init)
            case let masks as Sided<Mask>:
                guard let side, let mask = masks[side] else { return [row("output", "missing in the run", "-", false)] }
                ours = mask.labels.map(Double.init)
                classes = mask.classes.count
            case let tensor as Tensor:
                ours = tensor.data.map(Double.init)
            default:
                return [row("output", "unknown artifact type", "-", nil)]
            }
            guard reference.shape == summary.shape || (reference.count == ours.count && summary.kind == "image"
                                                       && reference.shape.reduce(1, *) == summary.shape.reduce(1, *)) else {
                return [row("shape", "\(summary.shape) vs \(reference.shape)", "equal", false)]
            }
            let theirs = reference.doubles
            if summary.kind == "mask" {
                let (agreement, iou) = maskMeasures(ours, theirs, classes: max(classes, 256))
                return [row("agreement", fraction(agreement), limits.agreement.map { "≥ \(format($0))" } ?? "-",
                            limits.agreement.map { agreement >= $0 }),
                        row("iou", fraction(iou), limits.iou.map { "≥ \(format($0))" } ?? "-", limits.iou.map { iou >= $0 })]
            }
            var worst = 0.0, total = 0.0
            for i in ours.indices {
                let difference = abs(ours[i] - theirs[i])
                if difference.isNaN { worst = .infinity } else { worst = max(worst, difference) }
                total += difference
            }
            let mean = ours.isEmpty ? 0 : total / Double(ours.count)
            return [row("max_abs", format(worst), limits.maxAbs.map { "≤ \(format($0))" } ?? "-", limits.maxAbs.map { worst <= $0 }),
                    row("mean_abs", format(mean), limits.meanAbs.map { "≤ \(format($0))" } ?? "-", limits.meanAbs.map { mean <= $0 })]
        default:
            return [row("output", "\(summary.kind): not compared", "-", nil)]
        }
    }

    /// The fraction of equal labels, and the mean over the classes either mask has of their IoU.
    static func maskMeasures(_ ours: [Double], _ theirs: [Double], classes: Int) -> (agreement: Double, iou: Double) {
        var equal = 0
        var intersection = [Int](repeating: 0, count: classes), union = [Int](repeating: 0, count: classes)
        for i in ours.indices {
            let (a, b) = (Int(ours[i]), Int(theirs[i]))
            guard a >= 0, b >= 0, a < classes, b < classes else { continue }
            if a == b {
                equal += 1
                intersection[a] += 1
                union[a] += 1
            } else {
                union[a] += 1
                union[b] += 1
            }
        }
        let present = (0..<classes).filter { union[$0] > 0 }
        let iou = present.isEmpty ? 1 : present.map { Double(intersection[$0]) / Double(union[$0]) }.reduce(0, +) / Double(present.count)
        return (ours.isEmpty ? 1 : Double(equal) / Double(ours.count), iou)
    }

    /// A fraction such as an agreement, to six digits, so that 0.99996 does not show as 1.
    static func fraction(_ value: Double) -> String {
        value == 1 ? "1" : String(format: "%.6f", value)
    }

    static func format(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value == 1 { return "1" }
        return String(format: "%.3g", value)
    }
}
