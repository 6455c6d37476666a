/// Identity, Reshape and Flatten: the same data under another shape, with no copy.
struct Reshape: Operator {
    enum Rule: Sendable {
        case same
        case shape([Int64])
        case flatten(Int)
    }

    let rule: Rule
    let label: String
    var isAlias: Bool { true }

    /// Identity keeps any layout; a new shape needs the row-major order ONNX defines it on.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts {
        guard case .same = rule else { return .rowMajor(offered.count) }
        return StepLayouts(inputs: offered, output: offered[0])
    }

    static func identity(_ node: NodeContext) throws -> Reshape {
        try node.allowOnly([])
        return Reshape(rule: .same, label: node.label)
    }

    static func reshape(_ node: NodeContext) throws -> Reshape {
        try node.allowOnly(["allowzero"])
        guard node.int("allowzero", default: 0) == 0 else { throw node.error(.unsupported, "allowzero = 1 is not supported") }
        guard let shape = try node.constant(1, "shape") else { throw node.error(.malformedModel, "Reshape needs a shape input") }
        guard let target = shape.ints else {
            throw node.error(.malformedModel, "the shape input holds values that are not whole numbers")
        }
        return Reshape(rule: .shape(target), label: node.label)
    }

    static func flatten(_ node: NodeContext) throws -> Reshape {
        try node.allowOnly(["axis"])
        return Reshape(rule: .flatten(node.int("axis", default: 1)), label: node.label)
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        let input = shapes[0]
        guard let count = elementCount(input) else {
            throw InferenceError(.shapeMismatch, "input shape \(input) has a negative dimension or too many elements", node: label)
        }
        switch rule {
        case .same:
            return input
        case .flatten(let axis):
            let a = axis < 0 ? axis + input.count : axis
            guard (0...input.count).contains(a) else {
                throw InferenceError(.shapeMismatch, "axis \(axis) is outside rank \(input.count)", node: label)
            }
            return [input[..<a].reduce(1, *), input[a...].reduce(1, *)]
        case .shape(let target):
            var shape = target.enumerated().map { index, value in value == 0 && index < input.count ? input[index] : Int(value) }
            if let unknown = shape.firstIndex(of: -1) {
                guard let known = elementCount(shape.enumerated().filter { $0.offset != unknown }.map(\.element)),
                      known > 0, count % known == 0 else {
                    throw InferenceError(.shapeMismatch, "cannot reshape \(input) to \(target)", node: label)
                }
                shape[unknown] = count / known
            }
            guard elementCount(shape) == count else {
                throw InferenceError(.shapeMismatch, "cannot reshape \(input) (\(count) values) to \(target)", node: label)
            }
            return shape
        }
    }
}

/// Concat along one axis; inputs may be constants.
struct Concat: Operator {
    let axis: Int
    let inputCount: Int
    let label: String
    var dataInputs: [Int] { Array(0..<inputCount) }

    init(_ node: NodeContext) throws {
        try node.allowOnly(["axis"])
        axis = node.int("axis", default: 1)
        inputCount = node.proto.input.count
        label = node.label
        guard inputCount >= 1 else { throw node.error(.malformedModel, "a Concat needs at least one input") }
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        var shape = shapes[0]
        let a = axis < 0 ? axis + shape.count : axis
        guard (0..<shape.count).contains(a) else { throw InferenceError(.shapeMismatch, "axis \(axis) is outside rank \(shape.count)", node: label) }
        for other in shapes.dropFirst() {
            guard other.count == shape.count,
                  zip(other, shape).enumerated().allSatisfy({ $0.offset == a || $0.element.0 == $0.element.1 }) else {
                throw InferenceError(.shapeMismatch, "shapes \(shapes) differ outside axis \(axis)", node: label)
            }
            shape[a] += other[a]
        }
        return shape
    }

    /// Along the channels of 4-D tensors, the layout of the first input, when every input's
    /// channels fill whole blocks of it; otherwise row-major.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts {
        let rank = shapes[0].count
        guard rank == 4, axis == 1 || axis == -3 else { return .rowMajor(offered.count) }
        let layout = offered[0]
        if case .blocked(let block) = layout, !shapes.allSatisfy({ $0[1] % block == 0 }) { return .rowMajor(offered.count) }
        return StepLayouts(inputs: Array(repeating: layout, count: offered.count), output: layout)
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let a = axis < 0 ? axis + output.shape.count : axis
        // Each input is `outer` chunks, laid one after another in the output: the chunks hold
        // everything from the axis inward, or, with channels innermost, one pixel's channels.
        let channelsLast = output.layout == .nhwc
        let outer = channelsLast ? output.count / output.shape[1] : output.shape[..<a].reduce(1, *)
        let inner = channelsLast ? 1 : output.shape[(a + 1)...].reduce(1, *)
        let step = output.shape[a] * inner
        var offset = 0
        for input in inputs {
            let chunk = input.shape[a] * inner
            parallelFor(threads, threads: threads) { part in
                for o in stride(from: part, to: outer, by: threads) {
                    (output.pointer + o * step + offset).update(from: input.pointer + o * chunk, count: chunk)
                }
            }
            offset += chunk
        }
    }
}

/// Pad with a constant, by reflection, or by repeating the edge.
struct Pad: Operator {
    enum Mode: String, Sendable { case constant, reflect, edge }

    let mode: Mode
    let pads: [Int]
    let value: Float
    let label: String

    init(_ node: NodeContext) throws {
        try node.allowOnly(["mode", "pads", "value"])
        guard let mode = Mode(rawValue: node.string("mode", default: "constant")) else {
            throw node.error(.unsupported, "mode '\(node.string("mode", default: ""))' is not supported; use constant, reflect or edge")
        }
        self.mode = mode
        if node.opset >= 11 {
            guard let pads = try node.constant(1, "pads") else { throw node.error(.malformedModel, "Pad needs a pads input") }
            guard let ints = pads.ints else { throw node.error(.malformedModel, "the pads input holds values that are not whole numbers") }
            self.pads = ints.map { Int($0) }
            value = try node.constant(2, "constant_value")?.floats.first ?? 0
            guard node.input(3) == nil else { throw node.error(.unsupported, "the axes input is not supported") }
        } else {
            pads = node.ints("pads") ?? []
            value = node.float("value", default: 0)
        }
        label = node.label
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        let input = shapes[0], rank = input.count
        guard pads.count == 2 * rank else {
            throw InferenceError(.shapeMismatch, "\(pads.count) pads for rank \(rank); there must be \(2 * rank)", node: label)
        }
        guard pads.allSatisfy({ abs($0) <= ConstantValue.maxElements }) else {
            throw InferenceError(.shapeMismatch, "pads \(pads) are out of range", node: label)
        }
        let shape = (0..<rank).map { input[$0] + pads[$0] + pads[$0 + rank] }
        guard shape.allSatisfy({ $0 > 0 }) else { throw InferenceError(.shapeMismatch, "pads \(pads) leave nothing of \(input)", node: label) }
        if mode == .reflect, (0..<rank).contains(where: { pads[$0] >= input[$0] || pads[$0 + rank] >= input[$0] }) {
            throw InferenceError(.shapeMismatch, "reflect pads \(pads) must be smaller than the input \(input)", node: label)
        }
        return shape
    }

    /// Pads are placed in row-major order; no pads at all (PyTorch puts such a Pad before
    /// `nn.AvgPool2d`) is a copy, which any layout can take as it comes.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts {
        pads.allSatisfy { $0 == 0 } ? StepLayouts(inputs: offered, output: offered[0]) : .rowMajor(1)
    }

    /// Row by row along the last axis: the source row from the outer axes' pads, then the
    /// row's left pad, a copy of the input row's span and the right pad. No pads is one copy.
    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let input = inputs[0], rank = input.shape.count, shape = output.shape
        guard rank > 0, pads.contains(where: { $0 != 0 }) else {
            return output.pointer.update(from: input.pointer, count: output.count)
        }
        // The input index along an axis of length n for output index o less the pad, or nil
        // where a constant pad puts `value`.
        func source(_ i: Int, _ n: Int) -> Int? {
            if i >= 0 && i < n { return i }
            switch mode {
            case .constant: return nil
            case .edge: return min(max(i, 0), n - 1)
            case .reflect: return i < 0 ? -i : 2 * (n - 1) - i
            }
        }
        let n = input.shape[rank - 1], width = shape[rank - 1], left = pads[rank - 1]
        let start = min(max(left, 0), width), end = min(max(left + n, 0), width)
        var inStrides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) { inStrides[axis] = inStrides[axis + 1] * input.shape[axis + 1] }
        var index = [Int](repeating: 0, count: rank - 1)
        for row in 0..<(output.count / width) {
            let y = output.pointer + row * width
            var offset: Int? = 0
            for axis in 0..<(rank - 1) {
                guard let base = offset, let i = source(index[axis] - pads[axis], input.shape[axis]) else { offset = nil; break }
                offset = base + i * inStrides[axis]
            }
            if let offset {
                let x = input.pointer + offset
                for j in 0..<start { y[j] = source(j - left, n).map { x[$0] } ?? value }
                if end > start { (y + start).update(from: x + (start - left), count: end - start) }
                for j in max(end, start)..<width { y[j] = source(j - left, n).map { x[$0] } ?? value }
            } else {
                y.update(repeating: value, count: width)
            }
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
