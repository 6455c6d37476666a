import Foundation
import Inference
import Yams

/// A pipeline config, loaded from YAML and validated completely before any job runs.
///
/// ```yaml
/// main: [decode, preprocess]          # the pipelines, in order
/// pipelines:
///   decode:
///     - decode_image: {max_pixels: 40000000}
///   preprocess:
///     - resize: {width: 256, height: 512}
///     - to_tensor                     # a step without params
/// ```
public struct PipelineConfig: Sendable {
    /// The file it was loaded from, as given.
    public let file: String
    /// The pipelines of `main:`, in order.
    public let main: [Pipeline]
    /// Canonical JSON of the resolved config: pipelines, steps, every param with defaults.
    public let normalized: String
    /// SHA-256 of `normalized`: equal for configs that mean the same, whatever their layout.
    public let sha256: String
    /// The SHA-256 of each model file, by model name, for the result's fingerprint.
    public let modelHashes: [String: String]
    /// The `parity:` section: tolerances of `gradeline-worker parity`. Not in the fingerprint:
    /// it changes no result.
    public let parity: ParityTolerances
    /// The `canaries:` section, when there is one. Not in the fingerprint either.
    public let canaries: CanarySettings?

    /// Loads and validates the config at `path`.
    public static func load(file path: String, registry: Registry = .standard) throws(ConfigError)
        -> PipelineConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(issues: [ConfigIssue(
                file: path, message: "cannot read the file: \(error.localizedDescription)")])
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(yaml: text, file: path, environment: ConfigEnvironment(directory: directory),
                         registry: registry)
    }

    /// Validates a config given as YAML text; `file` names it in errors. `provided` names
    /// artifacts that the caller puts in the Request before the first step, besides the photos
    /// (for partial pipelines, such as tests of one function).
    public static func parse(yaml: String, file: String,
                             environment: ConfigEnvironment = ConfigEnvironment(directory: "."),
                             registry: Registry = .standard,
                             provided: [String: any Artifact.Type] = [:]) throws(ConfigError) -> PipelineConfig {
        var loader = ConfigLoader(file: file, environment: environment, registry: registry)
        loader.provided = provided
        guard let (main, normalized, verification) = loader.load(yaml), loader.issues.isEmpty else {
            throw ConfigError(issues: loader.issues.sorted {
                ($0.line ?? 0, $0.column ?? 0) < ($1.line ?? 0, $1.column ?? 0)
            })
        }
        return PipelineConfig(file: file, main: main, normalized: normalized, sha256: SHA256.hex(normalized),
                              modelHashes: loader.environment.models.mapValues(\.sha256),
                              parity: verification.parity, canaries: verification.canaries)
    }

    /// Runs the `main:` pipelines in order on `request`, stopping at a rejection or failure.
    public func run(_ request: inout Request, level: TraceLevel = .summary) -> Outcome {
        for pipeline in main {
            let outcome = pipeline.run(&request, level: level)
            if outcome != .graded { return outcome }
        }
        return .graded
    }
}

/// The single pass that turns YAML into pipelines, collecting every problem on the way.
private struct ConfigLoader {
    let file: String
    var environment: ConfigEnvironment
    let registry: Registry
    var issues: [ConfigIssue] = []
    /// Set once a step's function is unknown, since later reads may miss its outputs.
    var unknownStepBefore = false
    /// Artifacts the caller provides before the first step.
    var provided: [String: any Artifact.Type] = [:]

    /// The top-level keys a config may have.
    static let sections = ["main", "pipelines", "models", "parity", "canaries"]

    init(file: String, environment: ConfigEnvironment, registry: Registry) {
        self.file = file
        self.environment = environment
        self.registry = registry
    }

    mutating func load(_ yaml: String)
        -> ([Pipeline], String, (parity: ParityTolerances, canaries: CanarySettings?))? {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                issue(nil, "the file is empty; it needs 'main:' and 'pipelines:'")
                return nil
            }
            root = node
        } catch {
            yamlIssue(error)
            return nil
        }
        guard case .mapping(let top) = root else {
            issue(root.mark, "the top level must be a mapping with 'main:' and 'pipelines:'")
            return nil
        }
        var sections: [String: Node] = [:]
        for (key, value) in top {
            let name = key.string ?? ""
            if !Self.sections.contains(name) {
                issue(key.mark, "unknown section '\(name)'; a config has 'main', 'pipelines' and optionally 'models', 'parity' and 'canaries'",
                      suggestion: Suggest.nearest(to: name, in: Self.sections))
            } else if sections[name] != nil {
                issue(key.mark, "section '\(name)' appears twice")
            } else {
                sections[name] = value
            }
        }
        let models = readModels(sections["models"])
        let mainNames = readMain(sections["main"], rootMark: root.mark)
        let definitions = readPipelines(sections["pipelines"], rootMark: root.mark)

        for (name, mark) in mainNames where definitions[name] == nil {
            issue(mark, "main lists pipeline '\(name)', which 'pipelines:' does not define",
                  suggestion: Suggest.nearest(to: name, in: definitions.keys))
        }
        let listed = Set(mainNames.map(\.name))
        for (name, definition) in definitions.sorted(by: { $0.key < $1.key }) where !listed.contains(name) {
            issue(definition.mark, "pipeline '\(name)' is defined but 'main:' does not list it; list it or remove it")
        }

        // Build the steps in main's order, so that each read is checked against earlier writes.
        var available: [String: (type: ObjectIdentifier, typeName: String, writer: String)] = [
            ArtifactKey.photos.name: (ObjectIdentifier(Sided<EncodedImage>.self),
                                      Sided<EncodedImage>.typeName, "the job"),
        ]
        for (name, type) in provided {
            available[name] = (ObjectIdentifier(type), type.typeName, "the caller")
        }
        var pipelines: [Pipeline] = []
        var normalized: [JSONValue] = []
        for (name, _) in mainNames {
            guard let definition = definitions[name] else { continue }
            var steps: [Step] = []
            for (index, stepNode) in definition.steps.enumerated() {
                guard let step = buildStep(stepNode, pipeline: name, index: index + 1,
                                           available: &available) else { continue }
                steps.append(step)
            }
            pipelines.append(Pipeline(name: name, steps: steps))
            normalized.append(.object([
                "pipeline": .string(name),
                "steps": .array(steps.map { .object(["function": .string($0.descriptor.name),
                                                      "params": .object($0.params)]) }),
            ]))
        }
        // Tolerances and canaries say how to check the pipeline, not what it computes: they stay
        // out of the normalized form, so that recording canaries does not change the fingerprint.
        let parity = VerificationSections.parity(sections["parity"], functions: registry.names) { mark, message, suggestion in
            issue(mark, message, suggestion: suggestion)
        }
        let canaries = VerificationSections.canaries(sections["canaries"], directory: environment.directory) { mark, message, suggestion in
            issue(mark, message, suggestion: suggestion)
        }
        return (pipelines, Self.canonicalJSON(.object(["main": .array(normalized), "models": .object(models)])),
                (parity, canaries))
    }

    /// Loads each model of `models:` once, checking its file's SHA-256; returns their normalized form.
    private mutating func readModels(_ node: Node?) -> [String: JSONValue] {
        guard let node else { return [:] }
        guard case .mapping(let mapping) = node else {
            issue(node.mark, "'models:' must map each model name to its file, sha256, input and output")
            return [:]
        }
        var normalized: [String: JSONValue] = [:]
        for (key, value) in mapping {
            guard let name = key.string, !name.isEmpty, case .mapping(let settings) = value else {
                issue(key.mark, "each model must be a name mapped to {file, sha256, input, output, threads}")
                continue
            }
            environment.declaredModels.insert(name)
            var reader = ParamReader(mapping: settings, stepMark: key.mark)
            let file = reader.string("file")
            let expected = reader.string("sha256", default: "")
            let input = reader.string("input", default: "")
            let output = reader.string("output", default: "")
            let threads = reader.int("threads", default: 1, in: 1...64)
            reader.finish()
            for problem in reader.problems {
                issue(problem.mark, "model '\(name)': \(problem.message)", suggestion: problem.suggestion)
            }
            guard reader.problems.isEmpty else { continue }
            let path = file.hasPrefix("/") ? file : "\(environment.directory)/\(file)"
            do {
                let (model, digest) = try ModelStore.load(path: path, expectedSHA256: expected.isEmpty ? nil : expected)
                if expected.isEmpty {
                    issue(key.mark, "model '\(name)' has no sha256; add 'sha256: \(digest)' so that a changed file is caught")
                    continue
                }
                let inputName = input.isEmpty ? model.inputs.first?.name ?? "" : input
                let outputName = output.isEmpty ? model.outputs.first ?? "" : output
                guard model.inputs.contains(where: { $0.name == inputName }) else {
                    issue(key.mark, "model '\(name)' has no input '\(inputName)'; its inputs are \(model.inputs.map(\.name))",
                          suggestion: Suggest.nearest(to: inputName, in: model.inputs.map(\.name)))
                    continue
                }
                guard model.outputs.contains(outputName) else {
                    issue(key.mark, "model '\(name)' has no output '\(outputName)'; its outputs are \(model.outputs)",
                          suggestion: Suggest.nearest(to: outputName, in: model.outputs))
                    continue
                }
                // OpenBLAS's thread count is process-wide: the last model's setting holds.
                InferenceModel.setThreads(threads)
                environment.models[name] = LoadedModel(name: name, file: path, sha256: digest, input: inputName,
                                                       output: outputName, threads: threads, model: model)
                normalized[name] = .object(["sha256": .string(digest), "input": .string(inputName),
                                            "output": .string(outputName), "threads": .int(threads)])
            } catch {
                issue(key.mark, "model '\(name)': \(error)")
            }
        }
        return normalized
    }

    private mutating func readMain(_ node: Node?, rootMark: Mark?) -> [(name: String, mark: Mark?)] {
        guard let node else {
            issue(rootMark, "missing section 'main:', the ordered list of pipelines to run")
            return []
        }
        guard case .sequence(let items) = node else {
            issue(node.mark, "'main:' must be a list of pipeline names, like 'main: [decode, preprocess]'")
            return []
        }
        if items.isEmpty { issue(node.mark, "'main:' lists no pipelines") }
        var names: [(String, Mark?)] = []
        for item in items {
            guard case .scalar = item, let name = item.string else {
                issue(item.mark, "each entry of 'main:' must be a pipeline name")
                continue
            }
            if names.contains(where: { $0.0 == name }) {
                issue(item.mark, "main lists pipeline '\(name)' twice; each pipeline runs once")
                continue
            }
            names.append((name, item.mark))
        }
        return names
    }

    private mutating func readPipelines(_ node: Node?, rootMark: Mark?)
        -> [String: (steps: [Node], mark: Mark?)] {
        guard let node else {
            issue(rootMark, "missing section 'pipelines:', which defines each pipeline's steps")
            return [:]
        }
        guard case .mapping(let mapping) = node else {
            issue(node.mark, "'pipelines:' must map each pipeline name to its list of steps")
            return [:]
        }
        var definitions: [String: (steps: [Node], mark: Mark?)] = [:]
        for (key, value) in mapping {
            guard let name = key.string, !name.isEmpty else {
                issue(key.mark, "a pipeline name must be text")
                continue
            }
            if let first = definitions[name] {
                let at = first.mark.map { " (first at line \($0.line))" } ?? ""
                issue(key.mark, "pipeline '\(name)' is defined twice\(at)")
                continue
            }
            guard case .sequence(let steps) = value else {
                if case .scalar = value, value.null != nil {
                    issue(key.mark, "pipeline '\(name)' is empty; give it at least one step")
                } else {
                    issue(value.mark, "pipeline '\(name)' must be a list of steps")
                }
                definitions[name] = ([], key.mark)
                continue
            }
            if steps.isEmpty { issue(key.mark, "pipeline '\(name)' is empty; give it at least one step") }
            definitions[name] = (Array(steps), key.mark)
        }
        return definitions
    }

    private mutating func buildStep(
        _ node: Node, pipeline: String, index: Int,
        available: inout [String: (type: ObjectIdentifier, typeName: String, writer: String)]
    ) -> Step? {
        // A step is `name` or `name: {params}`.
        let name: String
        let paramsNode: Node?
        switch node {
        case .scalar:
            name = node.string ?? ""
            paramsNode = nil
        case .mapping(let mapping) where mapping.count == 1:
            name = mapping.keys.first!.string ?? ""
            paramsNode = mapping.values.first!
        default:
            issue(node.mark, "a step must be a function name, or one name mapped to its params",
                  pipeline: pipeline, step: index)
            return nil
        }
        guard let function = registry.function(named: name) else {
            issue(node.mark, "unknown function '\(name)'", pipeline: pipeline, step: index,
                  suggestion: Suggest.nearest(to: name, in: registry.names))
            unknownStepBefore = true
            return nil
        }
        var paramMapping: Node.Mapping?
        if let paramsNode {
            if case .mapping(let mapping) = paramsNode {
                paramMapping = mapping
            } else if !(paramsNode.null != nil) {
                issue(paramsNode.mark, "params must be a mapping, like '\(name): {key: value}'",
                      pipeline: pipeline, step: index, function: name)
                return nil
            }
        }
        var builder = StepBuilder(params: ParamReader(mapping: paramMapping, stepMark: node.mark),
                                  environment: environment)
        let built: (any PipelineFunction)?
        do {
            built = try function.init(configuring: &builder)
        } catch {
            built = nil
            builder.params.reject(String(describing: error))
        }
        builder.finish()
        let problemsBefore = issues.count
        for problem in builder.params.problems {
            issue(problem.mark, problem.message, pipeline: pipeline, step: index, function: name,
                  suggestion: problem.suggestion)
        }
        for input in builder.inputs {
            guard let writer = available[input.artifact] else {
                let hint = unknownStepBefore ? " (an earlier step's function is unknown, which may be why)" : ""
                issue(node.mark, "reads artifact '\(input.artifact)' (\(input.typeName)), which no earlier step writes\(hint)",
                      pipeline: pipeline, step: index, function: name,
                      suggestion: Suggest.nearest(to: input.artifact, in: available.keys))
                continue
            }
            if writer.type != input.type {
                issue(node.mark, "reads artifact '\(input.artifact)' as \(input.typeName), but \(writer.writer) writes it as \(writer.typeName)",
                      pipeline: pipeline, step: index, function: name)
            }
        }
        for output in builder.outputs {
            available[output.artifact] = (output.type, output.typeName, "'\(pipeline)' step \(index) (\(name))")
        }
        guard let built, issues.count == problemsBefore else { return nil }
        return Step(function: built, descriptor: function.descriptor,
                    params: builder.params.resolved.merging(builder.artifactNames) { $1 },
                    outputs: builder.outputs.map(\.artifact))
    }

    private mutating func issue(_ mark: Mark?, _ message: String, pipeline: String? = nil,
                                step: Int? = nil, function: String? = nil, suggestion: String? = nil) {
        issues.append(ConfigIssue(file: file, line: mark?.line, column: mark?.column,
                                  pipeline: pipeline, step: step, function: function,
                                  message: message, suggestion: suggestion))
    }

    private mutating func yamlIssue(_ error: any Error) {
        guard let yamlError = error as? YamlError else {
            issue(nil, "not valid YAML: \(error)")
            return
        }
        switch yamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            issue(mark, "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            issue(context.mark, "\(keys) appears twice in the same mapping: a pipeline, section or param is defined twice")
        default:
            issue(nil, "not valid YAML: \(yamlError)")
        }
    }

    /// JSON with sorted keys and no spaces, so that equal configs hash equally.
    static func canonicalJSON(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
