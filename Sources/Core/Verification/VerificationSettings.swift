import Yams

/// The `parity:` section of a pipeline config: how close `gradeline-worker parity` wants each
/// step's outputs to experiment/reference.py's, by function name.
///
/// ```yaml
/// parity:
///   segment: {max_abs: 1.0e-3, mean_abs: 1.0e-4}   # logits: another runtime sums in another order
///   argmax_mask: {agreement: 0.999, iou: 0.99}
/// ```
/// A function not listed gets the defaults for the kind of its output (`defaults(kind:function:)`).
/// Images and tensors are held to `max_abs` and `mean_abs` (the largest and the mean absolute
/// difference); masks to `agreement` (the fraction of equal pixels) and `iou` (the mean over
/// the classes either mask has of each class's intersection over union). Damages, grades and
/// each step's status must be equal.
public struct ParityTolerances: Sendable, Hashable {
    /// The limits of one step's outputs; nil means the measure is not checked.
    public struct Limits: Sendable, Hashable {
        public var maxAbs: Double?
        public var meanAbs: Double?
        public var agreement: Double?
        public var iou: Double?

        public init(maxAbs: Double? = nil, meanAbs: Double? = nil, agreement: Double? = nil, iou: Double? = nil) {
            self.maxAbs = maxAbs
            self.meanAbs = meanAbs
            self.agreement = agreement
            self.iou = iou
        }

        /// `other`'s values where it has them, else these.
        func overridden(by other: Limits?) -> Limits {
            guard let other else { return self }
            return Limits(maxAbs: other.maxAbs ?? maxAbs, meanAbs: other.meanAbs ?? meanAbs,
                          agreement: other.agreement ?? agreement, iou: other.iou ?? iou)
        }
    }

    /// The section's limits, by function name.
    public var overrides: [String: Limits]

    public init(overrides: [String: Limits] = [:]) { self.overrides = overrides }

    static let measures = ["max_abs", "mean_abs", "agreement", "iou"]

    /// The defaults: images exact (pixels are integers, and both sides do the same arithmetic);
    /// tensors within 1e-5 (max) and 1e-6 (mean); the model's logits (`segment`) within 1e-3 and
    /// 1e-4, since onnxruntime and the executor add in different orders; masks with 99.9% of
    /// pixels equal and a mean IoU of 0.99.
    public static func defaults(kind: String, function: String) -> Limits {
        switch kind {
        case "image": Limits(maxAbs: 0, meanAbs: 0)
        case "tensor" where function == "segment": Limits(maxAbs: 1e-3, meanAbs: 1e-4)
        case "tensor": Limits(maxAbs: 1e-5, meanAbs: 1e-6)
        case "mask": Limits(agreement: 0.999, iou: 0.99)
        default: Limits()
        }
    }

    /// The limits for an output of `kind` written by `function`.
    public func limits(function: String, kind: String) -> Limits {
        Self.defaults(kind: kind, function: function).overridden(by: overrides[function])
    }
}

/// The `canaries:` section of a pipeline config: jobs committed with the model whose every
/// step's output hash is recorded, so that a worker refuses to start when any changes.
///
/// ```yaml
/// canaries:
///   dir: ../models/canaries          # relative to the config; one folder per job
///   jobs: [phone-01, phone-02]       # default: every folder there
/// ```
/// Each job's folder holds its photos as `<side>.png` and `expected.json`, which
/// `gradeline-worker canaries --record` writes.
public struct CanarySettings: Sendable, Hashable {
    /// The folder of the jobs, resolved against the config's folder.
    public var directory: String
    /// The jobs' folder names; empty means every folder in `directory`.
    public var jobs: [String]

    public init(directory: String, jobs: [String] = []) {
        self.directory = directory
        self.jobs = jobs
    }
}

/// Reading the two sections, for the config loader: problems go to `issue`.
enum VerificationSections {
    static func parity(_ node: Node?, functions: [String],
                       issue: (Mark?, String, String?) -> Void) -> ParityTolerances {
        guard let node else { return ParityTolerances() }
        guard case .mapping(let mapping) = node else {
            issue(node.mark, "'parity:' must map function names to tolerances, like 'segment: {max_abs: 1.0e-3}'", nil)
            return ParityTolerances()
        }
        var overrides: [String: ParityTolerances.Limits] = [:]
        for (key, value) in mapping {
            let name = key.string ?? ""
            guard functions.contains(name) else {
                issue(key.mark, "parity: unknown function '\(name)'", Suggest.nearest(to: name, in: functions))
                continue
            }
            guard case .mapping(let limits) = value else {
                issue(value.mark, "parity: '\(name)' must be a mapping of \(ParityTolerances.measures.joined(separator: ", "))", nil)
                continue
            }
            var parsed = ParityTolerances.Limits()
            for (measureKey, measureValue) in limits {
                let measure = measureKey.string ?? ""
                guard let number = measureValue.int.map(Double.init) ?? measureValue.float, number.isFinite, number >= 0 else {
                    issue(measureValue.mark, "parity: '\(name)': '\(measure)' must be a number of at least 0", nil)
                    continue
                }
                switch measure {
                case "max_abs": parsed.maxAbs = number
                case "mean_abs": parsed.meanAbs = number
                case "agreement", "iou":
                    guard number <= 1 else {
                        issue(measureValue.mark, "parity: '\(name)': '\(measure)' is a fraction from 0 to 1", nil)
                        continue
                    }
                    if measure == "agreement" { parsed.agreement = number } else { parsed.iou = number }
                default:
                    issue(measureKey.mark, "parity: '\(name)': unknown measure '\(measure)'",
                          Suggest.nearest(to: measure, in: ParityTolerances.measures))
                }
            }
            overrides[name] = parsed
        }
        return ParityTolerances(overrides: overrides)
    }

    static func canaries(_ node: Node?, directory: String,
                         issue: (Mark?, String, String?) -> Void) -> CanarySettings? {
        guard let node else { return nil }
        guard case .mapping(let mapping) = node else {
            issue(node.mark, "'canaries:' must be a mapping with 'dir:' and optionally 'jobs:'", nil)
            return nil
        }
        var folder: String?
        var jobs: [String] = []
        for (key, value) in mapping {
            switch key.string ?? "" {
            case "dir":
                guard let text = value.string, !text.isEmpty else {
                    issue(value.mark, "canaries: 'dir' must be a folder, relative to the config", nil)
                    continue
                }
                folder = text
            case "jobs":
                guard case .sequence(let items) = value, items.allSatisfy({ $0.string?.isEmpty == false }) else {
                    issue(value.mark, "canaries: 'jobs' must be a list of folder names", nil)
                    continue
                }
                jobs = items.compactMap(\.string)
            default:
                issue(key.mark, "canaries: unknown key '\(key.string ?? "")'", Suggest.nearest(to: key.string ?? "", in: ["dir", "jobs"]))
            }
        }
        guard let folder else {
            issue(node.mark, "canaries: 'dir' is missing", nil)
            return nil
        }
        let path = folder.hasPrefix("/") ? folder : "\(directory)/\(folder)"
        return CanarySettings(directory: path, jobs: jobs)
    }
}
