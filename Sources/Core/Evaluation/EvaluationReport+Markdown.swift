extension EvaluationReport {
    /// The report for people: headline figures against the targets, the grade confusion, damage
    /// detection, IoU, and the cases that did not come out as expected.
    public func markdown(regressions: [Regression] = []) -> String {
        let f = figures
        var lines = ["# Evaluation on \(golden)", "",
                     "Model \(fingerprint.models.map { "\($0.key) \($0.value.prefix(12))" }.sorted().joined(separator: ", ")), "
                         + "config \(fingerprint.config.prefix(12)), worker \(fingerprint.workerVersion). "
                         + "\(f.cases) cases: \(f.phones) phones and \(f.mustRejects) must-reject photos.", "",
                     "## Headline", "", "| figure | value | target | met |", "|---|---|---|---|"]
        let targets = Dictionary(uniqueKeysWithValues: Target.all.map { ($0.figure, $0) })
        for (name, value) in f.headline.sorted(by: { $0.key < $1.key }) {
            let target = targets[name]
            let met = target?.met(by: f).map { $0 ? "yes" : "**no**" } ?? ""
            lines.append("| \(name) | \(Figures.format(value)) | \(target.map { "≥ \(Figures.format($0.atLeast))" } ?? "") | \(met) |")
        }
        lines += ["", "Held-out styles: accepted \(Figures.format(f.heldOutAcceptedRate)), "
                      + "grade agreement \(Figures.format(f.heldOutGradeAgreement)). "
                      + "Time per job: median \(Figures.format(f.millisecondsMedian)) ms, p90 \(Figures.format(f.millisecondsP90)) ms."]
        if !regressions.isEmpty {
            lines += ["", "## Regressions against the baseline", ""] + regressions.map { "- \($0)" }
        }
        lines += confusionTable() + damageTable()
        if !f.falseRejections.isEmpty {
            lines += ["", "## Good photos rejected, by code", ""]
                + f.falseRejections.sorted { $0.key < $1.key }.map { "- \($0.key): \($0.value)" }
        }
        let misses = cases.filter { !$0.agrees }
        if !misses.isEmpty {
            lines += ["", "## Cases not as expected", "", "| case | held out | expected | got |", "|---|---|---|---|"]
            for score in misses {
                let expected = score.expectedStatus == "rejected" ? "rejected \(score.expectedCode ?? "")" : "grade \(score.expectedGrade ?? "")"
                let got = score.status == "graded" ? "grade \(score.grade ?? "")"
                    : "\(score.status) \(score.reasons.joined(separator: ", "))\(score.error.map { " \($0)" } ?? "")"
                lines.append("| \(score.id) | \(score.heldOut ? "yes" : "") | \(expected) | \(Echo.clip(got, maxBytes: 160)) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func confusionTable() -> [String] {
        let rows = figures.confusion.keys.sorted()
        let columns = Set(figures.confusion.values.flatMap(\.keys)).sorted()
        guard !rows.isEmpty else { return [] }
        var lines = ["", "## Grades: expected (rows) and given (columns)", "",
                     "| expected | " + columns.joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---|", count: columns.count)]
        for row in rows {
            lines.append("| \(row) | " + columns.map { "\(figures.confusion[row]?[$0] ?? 0)" }.joined(separator: " | ") + " |")
        }
        return lines
    }

    private func damageTable() -> [String] {
        var lines = ["", "## Damages found", "", "| type | drawn | found | recall | precision |", "|---|---|---|---|---|"]
        for (name, d) in figures.damage.sorted(by: { $0.key < $1.key }) + figures.damageBySide.sorted(by: { $0.key < $1.key }) {
            lines.append("| \(name) | \(d.truth) | \(d.predicted) | \(Figures.format(d.recall)) | \(Figures.format(d.precision)) |")
        }
        return lines
    }
}
