import Synchronization

/// A Concat along channels whose only reader is a Conv, run as one convolution per Concat input,
/// each adding into the output. A convolution is a sum over its input channels, so splitting the
/// weights by the Concat's inputs gives the same result without ever writing the concatenated
/// tensor: in U-Net decoders that tensor is the largest of the graph, and copying it took as long
/// as a convolution.
///
/// The parts depend on the inputs' channel counts, so they are made when a plan is, and kept.
/// When oneDNN cannot run every part, the step concatenates and runs the whole convolution.
struct ConcatConvolution: Operator {
    let concat: Concat
    let convolution: Convolution
    let label: String
    private let parts = Parts()

    private final class Parts: Sendable {
        let byChannels = Mutex<[[Int]: [Convolution]]>([:])
    }

    var dataInputs: [Int] { concat.dataInputs }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        try convolution.outputShape([concat.outputShape(shapes)])
    }

    /// One convolution per input, for these channel counts.
    private func parts(_ channels: [Int]) -> [Convolution] {
        if let cached = parts.byChannels.withLock({ $0[channels] }) { return cached }
        var start = 0
        let made = channels.enumerated().map { index, count in
            defer { start += count }
            return convolution.part(channels: start..<(start + count), first: index == 0, last: index == channels.count - 1)
        }
        // Two plans made at once: the first set stored wins, and both callers use it.
        return parts.byChannels.withLock { cached in
            if cached[channels] == nil { cached[channels] = made }
            return cached[channels]!
        }
    }

    /// Each part reads its input in the layout oneDNN prefers for it; all write the first part's
    /// output layout. Row-major throughout when oneDNN has no plan for some part.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts {
        let parts = parts(shapes.map { $0[1] })
        guard let first = parts[0].oneDNNLayouts(shapes[0], dst: nil) else { return .rowMajor(shapes.count) }
        var inputs = first.inputs
        for (part, shape) in zip(parts, shapes).dropFirst() {
            guard let layouts = part.oneDNNLayouts(shape, dst: first.output) else { return .rowMajor(shapes.count) }
            inputs += layouts.inputs
        }
        return StepLayouts(inputs: inputs, output: first.output)
    }

    func kernel(_ inputs: [TensorRef], _ output: TensorRef) -> String? {
        let names = zip(parts(inputs.map { $0.shape[1] }), inputs).map { part, input in part.kernel([input], output) ?? "?" }
        return Set(names).count == 1 ? names[0] : names.joined(separator: ", ")
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let parts = parts(inputs.map { $0.shape[1] })
        // In order: each part after the first adds to what the ones before it wrote.
        if zip(parts, inputs).allSatisfy({ part, input in part.runOneDNN(input, output) }) { return }
        // The fallback: concatenate row-major copies, then run the whole convolution.
        var shape = inputs[0].shape
        shape[1] = inputs.map { $0.shape[1] }.reduce(0, +)
        let memory = Arena([shape.reduce(1, *)] + inputs.map(\.count))
        let rowMajor = inputs.enumerated().map { index, input in
            var copy = TensorRef(shape: input.shape, pointer: memory.buffers[index + 1])
            if input.layout == .rowMajor { copy.pointer = input.pointer } else { LayoutConversion().run([input], copy, threads: threads) }
            return copy
        }
        let joined = TensorRef(shape: shape, pointer: memory.buffers[0])
        concat.run(rowMajor, joined, threads: threads)
        convolution.run([joined], output, threads: threads)
    }
}
