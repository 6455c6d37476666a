import Core

/// Compares a new result with a recorded one, as `gradeline-producer replay --compare` does.
///
/// - Exact: status, grade, grade rule, damages, reason codes and sides, error stage and code,
///   and the list of trace steps (pipeline, function, status) with each output's artifact,
///   side, kind, shape and dtype.
/// - Within tolerance: each output's min, max and mean, |new - recorded| <= `absolute` +
///   `relative` x |recorded| (defaults 1e-4 and 1e-3).
/// - Reported, never failing: output hashes (float sums may round differently on another CPU),
///   the config fingerprint, timings, worker, attempt.
public struct ResultComparison: Sendable {
    public var absolute = 1e-4
    public var relative = 1e-3

    public init() {}

    /// One line of the diff.
    public struct Difference: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var recorded: String
        public var now: String
        /// False for differences that are only reported.
        public var fails: Bool

        public var description: String {
            "\(fails ? "DIFF" : "note") \(path): recorded \(recorded), now \(now)"
        }
    }

    public func compare(recorded: GradingResult, now: GradingResult) -> [Difference] {
        var out: [Difference] = []
        func exact<T: Equatable>(_ path: String, _ a: T, _ b: T) {
            if a != b { out.append(Difference(path: path, recorded: "\(a)", now: "\(b)", fails: true)) }
        }
        exact("status", recorded.status, now.status)
        exact("grade", recorded.grade ?? "null", now.grade ?? "null")
        exact("grade_rule", recorded.gradeRule ?? "null", now.gradeRule ?? "null")
        exact("damages", recorded.damages.map(Self.describe), now.damages.map(Self.describe))
        exact("reasons", recorded.reasons.map { "\($0.code)@\($0.side?.rawValue ?? "-")" },
              now.reasons.map { "\($0.code)@\($0.side?.rawValue ?? "-")" })
        exact("error", recorded.error.map { "\($0.stage) \($0.code)" } ?? "null",
              now.error.map { "\($0.stage) \($0.code)" } ?? "null")
        if recorded.fingerprint.config != now.fingerprint.config {
            out.append(Difference(path: "fingerprint.config_sha256", recorded: recorded.fingerprint.config,
                                  now: now.fingerprint.config, fails: false))
        }
        let steps = { (result: GradingResult) in result.trace.map { "\($0.pipeline)/\($0.function):\($0.status.rawValue)" } }
        guard steps(recorded) == steps(now) else {
            exact("trace steps", steps(recorded), steps(now))
            return out
        }
        for (old, new) in zip(recorded.trace, now.trace) {
            let step = "trace \(old.pipeline)/\(old.function)"
            let shape = { (o: OutputSummary) in "\(o.artifact)[\(o.side?.rawValue ?? "-")] \(o.kind) \(o.shape) \(o.dtype)" }
            guard old.outputs.map(shape) == new.outputs.map(shape) else {
                exact("\(step) outputs", old.outputs.map(shape), new.outputs.map(shape))
                continue
            }
            for (a, b) in zip(old.outputs, new.outputs) {
                let name = "\(step) \(a.artifact)[\(a.side?.rawValue ?? "-")]"
                for (stat, x, y) in [("min", a.min, b.min), ("max", a.max, b.max), ("mean", a.mean, b.mean)] {
                    guard let x, let y else {
                        if (x == nil) != (y == nil) {
                            out.append(Difference(path: "\(name) \(stat)", recorded: "\(x.map { "\($0)" } ?? "null")",
                                                  now: "\(y.map { "\($0)" } ?? "null")", fails: true))
                        }
                        continue
                    }
                    let tolerance = absolute + relative * abs(x)
                    if abs(x - y) > tolerance {
                        out.append(Difference(path: "\(name) \(stat)", recorded: "\(x)",
                                              now: "\(y) (tolerance \(tolerance))", fails: true))
                    }
                }
                if a.sha256 != b.sha256 {
                    out.append(Difference(path: "\(name) sha256", recorded: String(a.sha256.prefix(12)),
                                          now: String(b.sha256.prefix(12)), fails: false))
                }
            }
        }
        return out
    }

    static func describe(_ damage: Damage) -> String {
        "\(damage.side) \(damage.type) \(damage.zone) \(damage.bbox.x),\(damage.bbox.y),\(damage.bbox.width)x\(damage.bbox.height) \(damage.areaPixels)px \(damage.zoneRatio) \(damage.severity)"
    }
}
