/// `argmax_mask`: turns per-pixel logits into a class mask per side (the class with the
/// highest logit; the lowest index wins a tie).
public struct ArgmaxMask: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "argmax_mask", module: .processor,
        summary: "Picks the most likely class per pixel from NCHW logits; one mask per side.")

    let input: ArtifactKey<Tensor>
    let output: ArtifactKey<Sided<Mask>>
    let classes: [String]

    public init(configuring step: inout StepBuilder) {
        input = step.input("logits", Tensor.self, default: "logits")
        output = step.output("mask", Sided<Mask>.self, default: "mask")
        classes = step.params.strings("classes")
        if classes.isEmpty || classes.count > 255 {
            step.params.reject("classes", "give one name per logit channel, at most 255")
        }
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        let logits = try request.require(input)
        guard logits.shape.count == 4, logits.shape[1] == classes.count, logits.sides.count == logits.shape[0] else {
            throw PipelineError(.invalidInput,
                                "logits of shape \(logits.shape) for \(logits.sides.count) sides do not fit \(classes.count) classes")
        }
        let (channels, height, width) = (logits.shape[1], logits.shape[2], logits.shape[3])
        let plane = height * width
        var masks = Sided<Mask>()
        logits.data.withUnsafeBufferPointer { data in
            for (n, side) in logits.sides.enumerated() {
                var labels = [UInt8](repeating: 0, count: plane)
                let base = n * channels * plane
                for pixel in 0..<plane {
                    var best = data[base + pixel], label = 0
                    for c in 1..<channels where data[base + c * plane + pixel] > best {
                        best = data[base + c * plane + pixel]
                        label = c
                    }
                    labels[pixel] = UInt8(label)
                }
                masks[side] = Mask(width: width, height: height, labels: labels, classes: classes)
            }
        }
        request[output] = masks
        return .ok
    }
}

/// `resize_mask`: resizes each side's mask to the size of that side's photo, by nearest.
public struct ResizeMask: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "resize_mask", module: .processor,
        summary: "Resizes each side's mask to its photo's size (nearest, half-pixel centres).")

    let mask: ArtifactKey<Sided<Mask>>
    let reference: ArtifactKey<Sided<Image>>
    let output: ArtifactKey<Sided<Mask>>

    public init(configuring step: inout StepBuilder) {
        mask = step.input("mask", Sided<Mask>.self, default: "mask")
        reference = step.input("size_of", Sided<Image>.self, default: "image")
        output = step.output("mask", Sided<Mask>.self, default: "photo_mask")
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        let images = try request.require(reference)
        request[output] = try request.require(mask).map { side, mask in
            guard let image = images[side] else {
                throw PipelineError(.invalidInput, "there is a mask but no photo for this side", side: side)
            }
            return Self.resize(mask, width: image.width, height: image.height)
        }
        return .ok
    }

    static func resize(_ mask: Mask, width: Int, height: Int) -> Mask {
        if mask.width == width && mask.height == height { return mask }
        let columns = Resize.nearestIndices(from: mask.width, to: width)
        let rows = Resize.nearestIndices(from: mask.height, to: height)
        var labels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            let source = rows[y] * mask.width
            for x in 0..<width { labels[y * width + x] = mask.labels[source + columns[x]] }
        }
        return Mask(width: width, height: height, labels: labels, classes: mask.classes)
    }
}
