import Foundation

/// What a canary job is expected to produce: every step's output hashes, in order, and the
/// grade. `gradeline-worker canaries --record` writes it as the job's `expected.json`.
public struct CanaryExpectation: Codable, Sendable, Hashable {
    public struct OutputHash: Codable, Sendable, Hashable {
        public var artifact: String
        public var side: Side?
        public var sha256: String
    }

    public struct StepHashes: Codable, Sendable, Hashable {
        /// `pipeline/function`.
        public var stage: String
        public var status: StepStatusCode
        public var outputs: [OutputHash]
    }

    /// What the recording ran with, to say what changed when a canary differs.
    public struct Recorded: Codable, Sendable, Hashable {
        public var configSHA256: String
        public var models: [String: String]
        public var workerVersion: String

        enum CodingKeys: String, CodingKey {
            case configSHA256 = "config_sha256"
            case models
            case workerVersion = "worker_version"
        }
    }

    public var format = "gradeline.canary/1"
    public var recorded: Recorded
    /// `graded`, `rejected` or `failed`.
    public var status: String
    public var grade: Grade?
    public var steps: [StepHashes]
}

/// How a canary job differs from its recording, at the first stage that differs.
public struct CanaryMismatch: Sendable, Hashable, CustomStringConvertible {
    public var job: String
    public var expectedFile: String
    /// `pipeline/function`, or `grade` or `status` for the job's end.
    public var stage: String
    /// `artifact.side`, or what differs about the step.
    public var output: String
    public var expected: String
    public var actual: String
    /// What changed since the recording (config fingerprint, model files, worker version).
    public var changes: [String]
    /// The usual reasons for a change at this stage.
    public var causes: [String]

    public var description: String {
        var lines = ["canary '\(job)' differs from \(expectedFile), first at stage \(stage) (\(output)):",
                     "  expected \(expected)",
                     "  actual   \(actual)"]
        lines += changes.map { "  since recording: \($0)" }
        lines.append("  likely causes: " + causes.joined(separator: "; "))
        lines.append("  if the change is deliberate (a new model or config), record again: gradeline-worker canaries --record")
        return lines.joined(separator: "\n")
    }
}

/// The result of one canary job.
public struct CanaryResult: Sendable {
    public var job: String
    public var steps: Int
    public var grade: Grade?
    public var mismatch: CanaryMismatch?
}

/// Canary jobs: photos committed with the model whose every step's output hash is recorded.
/// A worker runs them before it consumes (and `check-config` runs them), so that a wrong model
/// file, a changed library (oneDNN, OpenBLAS, libpng, libjpeg-turbo) or a changed config refuses the start
/// instead of changing grades.
public enum Canaries {
    /// The jobs the settings name, with their folders.
    public static func jobs(_ settings: CanarySettings) throws(VerificationError) -> [(name: String, folder: String)] {
        var names = settings.jobs
        if names.isEmpty {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: settings.directory)) ?? []
            names = entries.filter { name in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: "\(settings.directory)/\(name)", isDirectory: &isDirectory)
                    && isDirectory.boolValue
            }.sorted()
        }
        guard !names.isEmpty else { throw VerificationError("no canary jobs in \(settings.directory)") }
        return names.map { ($0, "\(settings.directory)/\($0)") }
    }

    /// A canary job's Request: its folder's `<side>.png` or `<side>.jpg` files, so that both
    /// decoders are covered.
    public static func request(name: String, folder: String) throws(VerificationError) -> Request {
        var photos = Sided<EncodedImage>()
        for side in Side.allCases {
            for file in ["png", "jpg", "jpeg"].map({ "\(folder)/\(side.rawValue).\($0)" }) {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                let bytes = [UInt8](data)
                photos[side] = EncodedImage(contentType: Job.contentType(of: bytes, path: file), bytes: bytes)
                break
            }
        }
        guard !photos.isEmpty else {
            throw VerificationError("canary '\(name)': no photos in \(folder) (front.png, back.jpg, ...)")
        }
        return Request(jobID: "canary-\(name)", kioskID: "canary", submittedAt: "2026-01-01T00:00:00Z", photos: photos)
    }

    /// Runs one canary job and says what it produced, as its `expected.json` would.
    public static func observe(_ config: PipelineConfig, name: String, folder: String) throws(VerificationError)
        -> CanaryExpectation {
        var request = try request(name: name, folder: folder)
        let outcome = config.run(&request, level: .summary)
        return CanaryExpectation(
            recorded: .init(configSHA256: config.sha256, models: config.modelHashes, workerVersion: Gradeline.version),
            status: outcome.status, grade: request[.grade],
            steps: request.trace.map { entry in
                .init(stage: "\(entry.pipeline)/\(entry.function)", status: entry.status,
                      outputs: entry.outputs.map { .init(artifact: $0.artifact, side: $0.side, sha256: $0.sha256) })
            })
    }

    /// Runs every canary job of the config against its `expected.json`.
    public static func verify(_ config: PipelineConfig) throws(VerificationError) -> [CanaryResult] {
        guard let settings = config.canaries else { return [] }
        return try jobs(settings).map { (name, folder) throws(VerificationError) in
            let file = "\(folder)/expected.json"
            guard let data = FileManager.default.contents(atPath: file) else {
                throw VerificationError("canary '\(name)': no \(file); record it with `gradeline-worker canaries --record`")
            }
            let expected: CanaryExpectation
            do {
                expected = try JSONDecoder().decode(CanaryExpectation.self, from: data)
            } catch {
                throw VerificationError("canary '\(name)': \(file) is not a canary recording: \(error)")
            }
            let actual = try observe(config, name: name, folder: folder)
            return CanaryResult(job: name, steps: actual.steps.count, grade: actual.grade,
                                mismatch: compare(expected, actual, job: name, file: file))
        }
    }

    /// Runs every canary job and writes its `expected.json`; returns the files written.
    @discardableResult
    public static func record(_ config: PipelineConfig) throws(VerificationError) -> [(job: String, file: String, expectation: CanaryExpectation)] {
        guard let settings = config.canaries else {
            throw VerificationError("\(config.file) has no 'canaries:' section")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try jobs(settings).map { (name, folder) throws(VerificationError) in
            let expectation = try observe(config, name: name, folder: folder)
            let file = "\(folder)/expected.json"
            do {
                try (encoder.encode(expectation) + Data("\n".utf8)).write(to: URL(fileURLWithPath: file))
            } catch {
                throw VerificationError("cannot write \(file): \(error)")
            }
            return (name, file, expectation)
        }
    }

    /// The first difference between a recording and a run, or nil when they are the same.
    static func compare(_ expected: CanaryExpectation, _ actual: CanaryExpectation, job: String, file: String) -> CanaryMismatch? {
        func mismatch(_ stage: String, _ output: String, _ wanted: String, _ got: String) -> CanaryMismatch {
            CanaryMismatch(job: job, expectedFile: file, stage: stage, output: output, expected: wanted, actual: got,
                           changes: changes(expected.recorded, actual.recorded), causes: causes(stage: stage))
        }
        for (index, wanted) in expected.steps.enumerated() {
            guard index < actual.steps.count else {
                let last = actual.steps.last
                return mismatch(wanted.stage, "step", "the step runs", "the run ended before it, at \(last?.stage ?? "the start") (\(actual.status))")
            }
            let got = actual.steps[index]
            if got.stage != wanted.stage {
                return mismatch(got.stage, "step \(index + 1)", "step \(wanted.stage)", "step \(got.stage)")
            }
            if got.status != wanted.status {
                return mismatch(got.stage, "status", wanted.status.rawValue, got.status.rawValue)
            }
            for output in wanted.outputs {
                let name = output.side.map { "\(output.artifact).\($0.rawValue)" } ?? output.artifact
                guard let other = got.outputs.first(where: { $0.artifact == output.artifact && $0.side == output.side }) else {
                    return mismatch(got.stage, name, "sha256 \(output.sha256)", "no such output")
                }
                if other.sha256 != output.sha256 {
                    return mismatch(got.stage, name, "sha256 \(output.sha256)", "sha256 \(other.sha256)")
                }
            }
            if let extra = got.outputs.first(where: { new in !wanted.outputs.contains { $0.artifact == new.artifact && $0.side == new.side } }) {
                return mismatch(got.stage, extra.artifact, "no such output", "sha256 \(extra.sha256)")
            }
        }
        if actual.steps.count > expected.steps.count {
            let extra = actual.steps[expected.steps.count]
            return mismatch(extra.stage, "step", "no step after \(expected.steps.last?.stage ?? "the start")", "step \(extra.stage)")
        }
        if actual.status != expected.status {
            return mismatch("status", "job", expected.status, actual.status)
        }
        if actual.grade != expected.grade {
            func show(_ grade: Grade?) -> String { grade.map { "\($0.value) (\($0.rule))" } ?? "none" }
            return mismatch("grade", "grade", show(expected.grade), show(actual.grade))
        }
        return nil
    }

    /// What differs between the recording's setup and this run's.
    static func changes(_ recorded: CanaryExpectation.Recorded, _ now: CanaryExpectation.Recorded) -> [String] {
        var found: [String] = []
        for name in Set(recorded.models.keys).union(now.models.keys).sorted() where recorded.models[name] != now.models[name] {
            found.append("model '\(name)' file sha256 was \(recorded.models[name] ?? "absent"), is \(now.models[name] ?? "absent") (a different model file)")
        }
        if recorded.configSHA256 != now.configSHA256 {
            found.append("the config fingerprint was \(recorded.configSHA256), is \(now.configSHA256) (a param, a step or grading.yaml changed)")
        }
        if recorded.workerVersion != now.workerVersion {
            found.append("recorded by worker \(recorded.workerVersion), this is \(now.workerVersion)")
        }
        if found.isEmpty {
            found.append("the model files, the config fingerprint and the worker version are as recorded, so a library (oneDNN, OpenBLAS, libpng), the CPU or the code changed")
        }
        return found
    }

    /// The usual reasons why a stage's output changes.
    static func causes(stage: String) -> [String] {
        let function = stage.split(separator: "/").last.map(String.init) ?? stage
        switch function {
        case "decode_image":
            return ["a changed libpng or libjpeg-turbo (the decoders)", "changed photos in the canary folder", "a changed decode_image param"]
        case "segment":
            return ["a wrong model file (check models: in the config and models/MODEL_CARD.md)",
                    "a changed oneDNN or OpenBLAS library", "a CPU with other instruction sets (oneDNN picks kernels per CPU)",
                    "a changed model 'threads' setting (the thread count decides the bits)"]
        case "grade":
            return ["changed grade rules (config/grading.yaml)", "changed damages upstream"]
        case "step", "status":
            return ["a changed config (steps added, removed or reordered, or a check's threshold)"]
        default:
            return ["a changed param of \(function) in the config", "changed code of \(function) (a new worker version)",
                    "a changed library under it (libpng, oneDNN, OpenBLAS)"]
        }
    }
}
