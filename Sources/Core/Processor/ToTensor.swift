/// `to_tensor`: stacks the sides' images into one float32 NCHW tensor, one batch entry a side.
///
/// Each sample becomes `value * scale` (default 1/255, so 0...1). All sides must have the same
/// size and format; `resize` first makes them so.
public struct ToTensor: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "to_tensor", module: .processor,
        summary: "Stacks the sides' images into a float32 NCHW tensor, scaled.")

    let input: ArtifactKey<Sided<Image>>
    let output: ArtifactKey<Tensor>
    let scale: Float

    public init(configuring step: inout StepBuilder) {
        input = step.input("image", Sided<Image>.self, default: "resized")
        output = step.output("tensor", Tensor.self, default: "tensor")
        scale = Float(step.params.double("scale", default: 1.0 / 255.0, in: 1e-9...1e9))
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        let images = try request.require(input)
        guard let first = images.values.first else {
            throw PipelineError(.invalidInput, "there are no images to stack")
        }
        if let odd = images.entries.first(where: {
            $0.value.width != first.width || $0.value.height != first.height || $0.value.format != first.format
        }) {
            let sizes = images.entries.map { "\($0.side) \($0.value.width)x\($0.value.height) \($0.value.format.rawValue)" }
            throw PipelineError(.invalidInput,
                                "sides differ in size or format (\(sizes.joined(separator: ", "))); resize them first",
                                side: odd.side)
        }
        request[output] = Self.tensor(images, scale: scale)
        return .ok
    }

    /// The NCHW tensor of equally sized images.
    public static func tensor(_ images: Sided<Image>, scale: Float) -> Tensor {
        let first = images.values[0]
        let channels = first.channels, plane = first.pixelCount
        var data = [Float](repeating: 0, count: images.count * channels * plane)
        data.withUnsafeMutableBufferPointer { out in
            for (n, image) in images.values.enumerated() {
                image.pixels.withUnsafeBufferPointer { pixels in
                    let base = n * channels * plane
                    for i in 0..<plane {
                        for c in 0..<channels {
                            out[base + c * plane + i] = Float(pixels[i * channels + c]) * scale
                        }
                    }
                }
            }
        }
        return Tensor(shape: [images.count, channels, first.height, first.width], data: data,
                      sides: images.sides)
    }
}
