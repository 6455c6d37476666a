import Foundation
import Yams

/// Grade rules from a YAML file that product people edit: the first rule that matches wins.
///
/// ```yaml
/// rules:
///   - name: screen-crack            # unique; results name the rule that matched
///     grade: D
///     when: {type: crack, zone: screen}
///   - name: heavy-scratches
///     grade: C
///     when: {type: scratch, total_zone_ratio_over: 0.02}
///   - name: clean
///     grade: A
///     when: {}                      # always: the last rule must be a catch-all
/// ```
/// `when` selects damages by `type`, `zone`, `side` and `severity` (each a name or a list), then
/// needs `count_at_least` of them (default 1), or with `total_zone_ratio_over` the sum of their
/// zone ratios above it, or with `none: true` no such damage at all. `{}` always matches.
public struct GradeRules: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        public var name: String
        public var grade: String
        var types: Set<String>?
        var zones: Set<String>?
        var sides: Set<String>?
        var severities: Set<String>?
        var countAtLeast = 1
        var totalZoneRatioOver: Double?
        var none = false
        var always = false

        /// Whether the rule holds for these damages.
        func matches(_ damages: [Damage]) -> Bool {
            if always { return true }
            let selected = damages.filter { damage in
                (types?.contains(damage.type) ?? true) && (zones?.contains(damage.zone) ?? true)
                    && (sides?.contains(damage.side.rawValue) ?? true) && (severities?.contains(damage.severity) ?? true)
            }
            if none { return selected.isEmpty }
            if let over = totalZoneRatioOver { return selected.map(\.zoneRatio).reduce(0, +) > over }
            return selected.count >= countAtLeast
        }
    }

    public var rules: [Rule]
    /// SHA-256 of the file, for the config fingerprint.
    public var sha256: String

    /// The first rule that matches; the catch-all guarantees one.
    public func grade(_ damages: [Damage]) -> Grade {
        let rule = rules.first { $0.matches(damages) } ?? rules[rules.count - 1]
        return Grade(value: rule.grade, rule: rule.name)
    }

    static let conditionKeys = ["type", "zone", "side", "severity", "count_at_least", "total_zone_ratio_over", "none"]

    /// Reads and checks the rules at `path`; every problem names the file, line and rule.
    public static func load(path: String) throws(ConfigError) -> GradeRules {
        func fail(_ problems: [ConfigIssue]) -> ConfigError { ConfigError(issues: problems) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw fail([ConfigIssue(file: path, message: "cannot read the grade rules file")])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw fail([ConfigIssue(file: path, message: "not valid YAML: \(error)")])
        }
        var problems: [ConfigIssue] = []
        func problem(_ node: Node?, _ message: String, suggestion: String? = nil) {
            problems.append(ConfigIssue(file: path, line: node?.mark?.line, column: node?.mark?.column,
                                        message: message, suggestion: suggestion))
        }
        guard case .mapping(let top)? = root, let list = top["rules"], case .sequence(let items) = list else {
            throw fail([ConfigIssue(file: path, line: 1, message: "the file must have 'rules:', a list of rules")])
        }
        for key in top.keys where key.string != "rules" {
            problem(key, "unknown key '\(key.string ?? "")'; the file has only 'rules:'")
        }
        var rules: [Rule] = []
        for item in items {
            guard case .mapping(let fields) = item else {
                problem(item, "each rule must be a mapping with name, grade and when")
                continue
            }
            let name = fields["name"]?.string ?? ""
            let label = name.isEmpty ? "a rule" : "rule '\(name)'"
            if name.isEmpty { problem(item, "\(label) has no name") }
            if rules.contains(where: { $0.name == name }) && !name.isEmpty { problem(fields["name"], "rule '\(name)' appears twice") }
            let grade = fields["grade"]?.string ?? ""
            if grade.isEmpty { problem(item, "\(label) has no grade") }
            for key in fields.keys where !["name", "grade", "when"].contains(key.string ?? "") {
                problem(key, "\(label): unknown key '\(key.string ?? "")'",
                        suggestion: Suggest.nearest(to: key.string ?? "", in: ["name", "grade", "when"]))
            }
            var rule = Rule(name: name, grade: grade)
            guard let when = fields["when"], case .mapping(let conditions) = when else {
                problem(item, "\(label) has no 'when:' (use 'when: {}' for a rule that always matches)")
                continue
            }
            rule.always = conditions.isEmpty
            for (key, value) in conditions {
                let field = key.string ?? ""
                func names() -> Set<String>? {
                    if case .sequence(let list) = value { return Set(list.compactMap(\.string)) }
                    return value.string.map { [$0] }
                }
                switch field {
                case "type": rule.types = names()
                case "zone": rule.zones = names()
                case "side": rule.sides = names()
                case "severity": rule.severities = names()
                case "count_at_least":
                    guard let count = value.int, count >= 1 else { problem(value, "\(label): count_at_least must be an integer of at least 1"); continue }
                    rule.countAtLeast = count
                case "total_zone_ratio_over":
                    guard let ratio = value.float ?? value.int.map(Double.init), (0...1).contains(ratio) else {
                        problem(value, "\(label): total_zone_ratio_over must be a number from 0 to 1")
                        continue
                    }
                    rule.totalZoneRatioOver = ratio
                case "none":
                    guard let flag = value.bool else { problem(value, "\(label): none must be true or false"); continue }
                    rule.none = flag
                default:
                    problem(key, "\(label): unknown condition '\(field)'", suggestion: Suggest.nearest(to: field, in: conditionKeys))
                }
            }
            rules.append(rule)
        }
        if rules.isEmpty { problem(list, "there are no rules") }
        if let last = rules.last, !last.always {
            problem(items.last, "the last rule, '\(last.name)', must always match (when: {}), so that every phone gets a grade")
        }
        guard problems.isEmpty else { throw fail(problems) }
        return GradeRules(rules: rules, sha256: SHA256.hex([UInt8](data)))
    }
}

/// `grade`: grades the job from its located damages with the rules file's first matching rule.
public struct GradeFunction: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "grade", module: .service,
        summary: "Grades the phone from its damages with the first matching rule of a rules file.")

    let input: ArtifactKey<Damages>
    let output: ArtifactKey<Grade>
    let rules: GradeRules?

    public init(configuring step: inout StepBuilder) {
        input = step.input("damages", Damages.self, default: "damages")
        output = step.output("grade", Grade.self, default: "grade")
        let file = step.params.string("rules")
        let path = file.hasPrefix("/") ? file : "\(step.environment.directory)/\(file)"
        do {
            let rules = try GradeRules.load(path: path)
            self.rules = rules
            // The rules' content is part of what the step means, so it enters the fingerprint.
            step.params.record("rules_sha256", .string(rules.sha256))
        } catch {
            rules = nil
            if !file.isEmpty { step.params.reject("rules", error.issues.map(\.description).joined(separator: "; ")) }
        }
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        guard let rules else { throw PipelineError(.internalError, "grade has no rules") }
        request[output] = rules.grade(try request.require(input).items)
        return .ok
    }
}
