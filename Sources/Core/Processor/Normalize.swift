/// `normalize`: per-channel `(x - mean[c]) / std[c]` on an NCHW tensor.
public struct Normalize: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "normalize", module: .processor,
        summary: "Subtracts a per-channel mean and divides by a per-channel std (NCHW).")

    let input: ArtifactKey<Tensor>
    let output: ArtifactKey<Tensor>
    let mean: [Float]
    let std: [Float]

    public init(configuring step: inout StepBuilder) {
        input = step.input("tensor", Tensor.self, default: "tensor")
        output = step.output("tensor", Tensor.self, default: "normalized")
        let mean = step.params.doubles("mean")
        let std = step.params.doubles("std")
        if mean.count != std.count {
            step.params.reject("std", "has \(std.count) values but mean has \(mean.count); give one per channel")
        }
        if std.contains(0) {
            step.params.reject("std", "a std of 0 would divide by zero")
        }
        self.mean = mean.map(Float.init)
        self.std = std.map(Float.init)
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        var tensor = try request.require(input)
        guard tensor.shape.count == 4, tensor.shape[1] == mean.count else {
            throw PipelineError(.invalidInput,
                                "normalize has \(mean.count) channel means, but the tensor's shape is \(tensor.shape) (NCHW)")
        }
        Self.normalize(&tensor, mean: mean, std: std)
        request[output] = tensor
        return .ok
    }

    /// Normalizes an NCHW tensor in place.
    public static func normalize(_ tensor: inout Tensor, mean: [Float], std: [Float]) {
        let channels = tensor.shape[1], plane = tensor.shape[2] * tensor.shape[3]
        let batch = tensor.shape[0]
        tensor.data.withUnsafeMutableBufferPointer { data in
            for n in 0..<batch {
                for c in 0..<channels {
                    let base = (n * channels + c) * plane
                    let m = mean[c], s = std[c]
                    for i in base..<(base + plane) { data[i] = (data[i] - m) / s }
                }
            }
        }
    }
}
