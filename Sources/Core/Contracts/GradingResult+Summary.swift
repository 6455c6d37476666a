import Foundation

extension GradingResult {
    /// Lines for a person: job, status, time, then the grade and damages, reasons or error.
    public var summary: String {
        let total = timings["total"].map { String(format: "%.0f ms", $0) } ?? "-"
        var lines = ["\(jobID): \(status) [\(total)]"]
        switch status {
        case "graded":
            lines[0] += ", grade \(grade ?? "none (no grading stage in the config)")"
            lines[0] += ", \(damages.count) damage\(damages.count == 1 ? "" : "s")"
            lines += damages.map { damage in
                let box = damage.bbox
                return "    \(damage.side) \(damage.type) on \(damage.zone) at (\(box.x), \(box.y)) \(box.width)x\(box.height), \(damage.severity)"
            }
        case "rejected":
            lines += reasons.map { "    \($0.code)\($0.side.map { " (\($0))" } ?? ""): \($0.detail)" }
        default:
            if let error = error { lines[0] += " at \(error.stage): \(error.message)" }
        }
        return lines.joined(separator: "\n")
    }
}
