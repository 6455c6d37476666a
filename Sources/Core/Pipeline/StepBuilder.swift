import Yams

/// What a function's initializer uses to declare its artifacts and read its params.
///
/// Each input and output has a role (`image`) and a default artifact name. A step renames them
/// with `in:` and `out:` in the config, for example `resize: {width: 8, out: {image: small}}`.
public struct StepBuilder {
    /// One declared input or output, resolved to an artifact name.
    struct Slot {
        var role: String
        var artifact: String
        var type: ObjectIdentifier
        var typeName: String
    }

    /// The step's params.
    public var params: ParamReader
    /// Where the config lives, for functions that read files named relative to it.
    public let environment: ConfigEnvironment
    private(set) var inputs: [Slot] = []
    private(set) var outputs: [Slot] = []
    private var inputNames: [String: String] = [:]
    private var outputNames: [String: String] = [:]
    private var renameMarks: [String: Mark] = [:]

    init(params: ParamReader, environment: ConfigEnvironment) {
        self.params = params
        self.environment = environment
        inputNames = readRenames("in")
        outputNames = readRenames("out")
    }

    /// Declares an input and returns its key; `role` names it in `in:`.
    public mutating func input<Value: Artifact>(_ role: String, _ type: Value.Type,
                                                default name: String) -> ArtifactKey<Value> {
        let artifact = inputNames[role] ?? name
        inputs.append(Slot(role: role, artifact: artifact, type: ObjectIdentifier(type),
                           typeName: Value.typeName))
        return ArtifactKey(artifact)
    }

    /// Declares an output and returns its key; `role` names it in `out:`.
    public mutating func output<Value: Artifact>(_ role: String, _ type: Value.Type,
                                                 default name: String) -> ArtifactKey<Value> {
        let artifact = outputNames[role] ?? name
        outputs.append(Slot(role: role, artifact: artifact, type: ObjectIdentifier(type),
                            typeName: Value.typeName))
        return ArtifactKey(artifact)
    }

    /// Checks `in:`/`out:` against the declared roles, and params against those read.
    mutating func finish() {
        for (direction, names, slots) in [("in", inputNames, inputs), ("out", outputNames, outputs)] {
            let roles = slots.map(\.role)
            for role in names.keys.sorted() where !roles.contains(role) {
                let known = roles.isEmpty ? "none" : roles.map { "'\($0)'" }.joined(separator: ", ")
                params.problems.append(ParamReader.Problem(
                    message: "'\(direction)' names role '\(role)', but this function's \(direction == "in" ? "inputs" : "outputs") are \(known)",
                    mark: renameMarks["\(direction).\(role)"],
                    suggestion: Suggest.nearest(to: role, in: roles)))
            }
        }
        params.finish()
    }

    /// The names that `in:` and `out:` give, as the trace shows them.
    var artifactNames: [String: JSONValue] {
        var names: [String: JSONValue] = [:]
        if !inputs.isEmpty {
            names["in"] = .object(Dictionary(uniqueKeysWithValues: inputs.map { ($0.role, .string($0.artifact)) }))
        }
        if !outputs.isEmpty {
            names["out"] = .object(Dictionary(uniqueKeysWithValues: outputs.map { ($0.role, .string($0.artifact)) }))
        }
        return names
    }

    private mutating func readRenames(_ key: String) -> [String: String] {
        guard let node = params.take(key) else { return [:] }
        guard case .mapping(let mapping) = node else {
            params.problems.append(ParamReader.Problem(
                message: "'\(key)' must map roles to artifact names, like '\(key): {image: resized}'",
                mark: node.mark))
            return [:]
        }
        var names: [String: String] = [:]
        for (roleNode, artifact) in mapping {
            guard let role = roleNode.string, case .scalar = artifact, let name = artifact.string,
                  !name.isEmpty else {
                params.problems.append(ParamReader.Problem(
                    message: "'\(key)' must map roles to artifact names", mark: roleNode.mark))
                continue
            }
            names[role] = name
            if let mark = roleNode.mark { renameMarks["\(key).\(role)"] = mark }
        }
        return names
    }
}

/// What functions may know about where their config came from.
public struct ConfigEnvironment: Sendable {
    /// The folder of the config file; relative paths in params are resolved against it.
    public var directory: String
    /// The models of the config's `models:` section that loaded, by name.
    public var models: [String: LoadedModel] = [:]
    /// Every name in `models:`, loaded or not (a model that failed has its own error already).
    public var declaredModels: Set<String> = []

    public init(directory: String) { self.directory = directory }
}
