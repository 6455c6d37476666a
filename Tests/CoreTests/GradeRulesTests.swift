import Foundation
import Testing
@testable import Core

@Suite("Grade rules from YAML: first match wins, validated at load")
struct GradeRulesTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config/grading.yaml").path

    static func damage(_ type: String, _ zone: String, ratio: Double = 0.001) -> Damage {
        Damage(side: .front, type: type, zone: zone, bbox: BoundingBox(x: 0, y: 0, width: 1, height: 1),
               areaPixels: 10, zoneRatio: ratio, severity: "minor")
    }

    static func write(_ yaml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID()).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("the shipped rules give the documented grades",
          arguments: [
            ([], "A", "no-damage"),
            ([damage("scratch", "screen")], "B", "light-scratches"),
            ([damage("scratch", "screen", ratio: 0.015), damage("scratch", "screen", ratio: 0.01)], "C", "heavy-screen-scratches"),
            ([damage("crack", "body")], "C", "crack-elsewhere"),
            ([damage("chip", "edge"), damage("scratch", "body")], "C", "chipped"),
            ([damage("scratch", "screen"), damage("crack", "screen")], "D", "screen-crack"),
          ] as [([Damage], String, String)])
    func shippedGrades(damages: [Damage], grade: String, rule: String) throws {
        let rules = try GradeRules.load(path: Self.shipped)
        #expect(rules.grade(damages) == Grade(value: grade, rule: rule))
    }

    @Test("a rules file without a final catch-all is a load error naming the rule")
    func needsCatchAll() throws {
        let path = try Self.write("rules:\n  - name: cracked\n    grade: D\n    when: {type: crack}\n")
        #expect {
            _ = try GradeRules.load(path: path)
        } throws: { error in
            (error as? ConfigError)?.issues.first?.description == "\(path):2:5: the last rule, 'cracked', must always match (when: {}), so that every phone gets a grade"
        }
    }

    @Test("unknown conditions, missing grades and duplicate names are each named")
    func badRules() throws {
        let path = try Self.write("""
            rules:
              - name: a
                when: {typ: crack}
              - name: a
                grade: B
                when: {total_zone_ratio_over: 3}
              - name: all
                grade: A
                when: {}
            """)
        #expect {
            _ = try GradeRules.load(path: path)
        } throws: { error in
            let messages = (error as? ConfigError)?.issues.map(\.description) ?? []
            return messages.contains("\(path):2:5: rule 'a' has no grade")
                && messages.contains("\(path):3:12: rule 'a': unknown condition 'typ'; did you mean 'type'?")
                && messages.contains("\(path):4:11: rule 'a' appears twice")
                && messages.contains { $0.contains("total_zone_ratio_over must be a number from 0 to 1") }
        }
    }

    @Test("a bad rules file fails the pipeline config load, with the rules file's place")
    func configLoadFails() throws {
        let path = try Self.write("rules: []\n")
        let problems = Fixtures.problemsIn {
            try PipelineConfig.parse(yaml: "main: [p]\npipelines:\n  p:\n    - grade: {rules: \(path)}\n", file: "t.yaml",
                                     provided: ["damages": Damages.self])
        }
        #expect(problems.count == 1)
        #expect(problems.first?.contains("there are no rules") == true, "\(problems)")
    }
}
