/// One grading job on its way through the pipelines: its identity, its inputs, every artifact
/// the functions produce, and the trace of every step.
public struct Request: Sendable {
    public let jobID: String
    public var kioskID: String
    /// RFC 3339, as the job gave it.
    public var submittedAt: String
    /// Free-form device info from the job (model, storage, ...).
    public var device: [String: JSONValue]
    /// Which try this is, from 1; the worker sets it from the message.
    public var attempt = 1
    /// Artifacts by name. Functions reach them through typed `ArtifactKey`s.
    private var artifacts: [String: any Artifact] = [:]
    /// One entry per function run, in order.
    public internal(set) var trace: [TraceEntry] = []
    /// How much the trace of this run carries; functions whose output only the trace would
    /// see may skip their work below `full`.
    public internal(set) var traceLevel = TraceLevel.summary
    /// Milliseconds spent in each pipeline, by pipeline name.
    public internal(set) var timings: [String: Double] = [:]

    public init(jobID: String, kioskID: String, submittedAt: String, photos: Sided<EncodedImage>,
                device: [String: JSONValue] = [:]) {
        self.jobID = jobID
        self.kioskID = kioskID
        self.submittedAt = submittedAt
        self.device = device
        self[.photos] = photos
    }

    /// The artifact stored under `key`, or nil.
    public subscript<Value: Artifact>(key: ArtifactKey<Value>) -> Value? {
        get { artifacts[key.name] as? Value }
        set { artifacts[key.name] = newValue }
    }

    /// The artifact stored under `key`; throws when an earlier step did not write it.
    public func require<Value: Artifact>(_ key: ArtifactKey<Value>) throws -> Value {
        guard let value = artifacts[key.name] else {
            throw PipelineError(.missingArtifact, "artifact \(key) is not in the request")
        }
        guard let typed = value as? Value else {
            throw PipelineError(.missingArtifact,
                                "artifact '\(key.name)' holds \(type(of: value).typeName), not \(Value.typeName)")
        }
        return typed
    }

    /// Whether any artifact is stored under `name`.
    public func has(_ name: String) -> Bool { artifacts[name] != nil }

    /// The artifact stored under `name`, whatever its type, for tools that compare whole runs
    /// (`gradeline-worker parity`); pipeline functions use typed keys.
    public func artifact(named name: String) -> (any Artifact)? { artifacts[name] }

    /// The trace summaries of the artifact named `name`, or none when it is absent.
    func summarize(_ name: String, level: TraceLevel) -> [OutputSummary] {
        guard let artifact = artifacts[name] else { return [] }
        return artifact.summarize(level: level).map { summary in
            var summary = summary
            summary.artifact = name
            return summary
        }
    }
}
