import Inference

/// `segment`: runs a segmentation model on the batch of sides and writes its logits.
///
/// All sides of a job go through the model as one batch. The model is loaded once per
/// process (see `ModelStore`) and shared by concurrent jobs.
public struct Segment: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "segment", module: .models,
        summary: "Runs the configured segmentation model on all sides at once; writes per-pixel logits.")

    let input: ArtifactKey<Tensor>
    let output: ArtifactKey<Tensor>
    let model: LoadedModel?

    public init(configuring step: inout StepBuilder) {
        input = step.input("tensor", Tensor.self, default: "normalized")
        output = step.output("logits", Tensor.self, default: "logits")
        let name = step.params.string("model")
        model = step.environment.models[name]
        if model == nil, !name.isEmpty, !step.environment.declaredModels.contains(name) {
            let known = step.environment.models.keys.sorted()
            step.params.reject("model", "no model '\(name)' in the config's models: section (it has \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        guard let model else { throw PipelineError(.internalError, "segment has no model") }
        let tensor = try request.require(input)
        let result: [String: NDArray]
        do {
            result = try model.model.run([model.input: NDArray(shape: tensor.shape, data: tensor.data)], threads: model.threads)
        } catch {
            throw PipelineError(.invalidInput, "model '\(model.name)': \(error)")
        }
        guard let logits = result[model.output] else {
            throw PipelineError(.internalError, "model '\(model.name)' produced no '\(model.output)'")
        }
        request[output] = Tensor(shape: logits.shape, data: logits.data, sides: tensor.sides)
        return .ok
    }
}
