import Foundation

/// Relu, LeakyRelu, Sigmoid and Clip: one value in, one value out.
struct Activation: Operator {
    enum Function: Sendable {
        case relu
        case leakyRelu(Float)
        case sigmoid
        case clip(Float, Float)
    }

    let function: Function

    init(_ node: NodeContext, _ function: Function) throws {
        switch function {
        case .leakyRelu: try node.allowOnly(["alpha"])
        case .clip: try node.allowOnly(["min", "max"])
        default: try node.allowOnly([])
        }
        self.function = function
    }

    /// Clip reads min and max from inputs 1 and 2 (opset 11 and later) or from attributes.
    static func clip(_ node: NodeContext) throws -> Activation {
        if node.opset >= 11 {
            let low = try node.constant(1, "min")?.floats.first ?? -.greatestFiniteMagnitude
            let high = try node.constant(2, "max")?.floats.first ?? .greatestFiniteMagnitude
            return try Activation(node, .clip(low, high))
        }
        return try Activation(node, .clip(node.float("min", default: -.greatestFiniteMagnitude),
                                          node.float("max", default: .greatestFiniteMagnitude)))
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] { shapes[0] }

    /// Value by value, so any layout will do.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts { StepLayouts(inputs: offered, output: offered[0]) }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let x = inputs[0].pointer, y = output.pointer, count = output.count
        switch function {
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0) }
        case .leakyRelu(let alpha):
            for i in 0..<count { y[i] = x[i] >= 0 ? x[i] : alpha * x[i] }
        case .sigmoid:
            for i in 0..<count { y[i] = 1 / (1 + exp(-x[i])) }
        case .clip(let low, let high):
            for i in 0..<count { y[i] = min(max(x[i], low), high) }
        }
    }
}

/// Add and Mul, with numpy-style broadcasting; either input may be a constant.
struct Binary: Operator {
    enum Kind: Sendable { case add, mul }

    let kind: Kind
    let label: String
    var dataInputs: [Int] { [0, 1] }

    init(_ node: NodeContext, _ kind: Kind) throws {
        try node.allowOnly([])
        self.kind = kind
        label = node.label
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        guard let shape = Broadcast.shape(shapes[0], shapes[1]) else {
            throw InferenceError(.shapeMismatch, "shapes \(shapes[0]) and \(shapes[1]) do not broadcast", node: label)
        }
        return shape
    }

    /// Two inputs of one shape pair up value by value in any layout, as long as it is the same
    /// one; broadcasting needs row-major order.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts {
        if shapes[0] == shapes[1] { return StepLayouts(inputs: [offered[0], offered[0]], output: offered[0]) }
        // One value meets every element alike, in any layout (FPN's `sum(levels)` adds a 0 first;
        // in row-major order it cost two layout conversions).
        if let (tensor, _) = Self.scalarOperand(shapes) {
            var inputs = [TensorLayout.rowMajor, .rowMajor]
            inputs[tensor] = offered[tensor]
            return StepLayouts(inputs: inputs, output: offered[tensor])
        }
        return .rowMajor(2)
    }

    /// (the tensor's input index, the single value's input index) when one input holds one
    /// value and the output has the other's shape.
    static func scalarOperand(_ shapes: [[Int]]) -> (Int, Int)? {
        for single in [1, 0] where shapes[single].reduce(1, *) == 1 && shapes[single].count <= shapes[1 - single].count {
            return (1 - single, single)
        }
        return nil
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let shape = output.shape, count = output.count
        let a = inputs[0].pointer, b = inputs[1].pointer, y = output.pointer
        if inputs[0].count == count && inputs[1].count == count {
            for i in 0..<count { y[i] = kind == .add ? a[i] + b[i] : a[i] * b[i] }
            return
        }
        if let (tensor, single) = Self.scalarOperand(inputs.map(\.shape)) {
            // Addition and multiplication commute in IEEE arithmetic, so the order of the
            // operands does not change a bit.
            let x = inputs[tensor].pointer, value = inputs[single].pointer[0]
            if kind == .add {
                for i in 0..<count { y[i] = x[i] + value }
            } else {
                for i in 0..<count { y[i] = x[i] * value }
            }
            return
        }
        let sa = Broadcast.strides(of: inputs[0].shape, rank: shape.count)
        let sb = Broadcast.strides(of: inputs[1].shape, rank: shape.count)
        Broadcast.walk(shape, sa, sb) { i, ia, ib in y[i] = kind == .add ? a[ia] + b[ib] : a[ia] * b[ib] }
    }
}

/// BatchNormalization in inference mode: `(x - mean) / sqrt(var + epsilon) * scale + bias`.
struct BatchNormalization: Operator {
    let scale: [Float]
    let shift: [Float]
    let label: String

    init(_ node: NodeContext) throws {
        try node.allowOnly(["epsilon", "momentum", "spatial", "training_mode"])
        guard node.int("training_mode", default: 0) == 0, node.proto.output.count == 1 else {
            throw node.error(.unsupported, "only inference mode (one output) is supported")
        }
        let epsilon = node.float("epsilon", default: 1e-5)
        guard let gamma = try node.constant(1, "scale")?.floats, let beta = try node.constant(2, "B")?.floats,
              let mean = try node.constant(3, "mean")?.floats, let variance = try node.constant(4, "var")?.floats,
              Set([gamma.count, beta.count, mean.count, variance.count]).count == 1 else {
            throw node.error(.malformedModel, "scale, B, mean and var must be constants of one length")
        }
        var scale = [Float](), shift = [Float]()
        for c in 0..<gamma.count {
            let s = gamma[c] / (variance[c] + epsilon).squareRoot()
            scale.append(s)
            shift.append(beta[c] - mean[c] * s)
        }
        self.scale = scale
        self.shift = shift
        label = node.label
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        guard shapes[0].count >= 2, shapes[0][1] == scale.count else {
            throw InferenceError(.shapeMismatch, "input shape \(shapes[0]) does not have \(scale.count) channels", node: label)
        }
        return shapes[0]
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let shape = output.shape, channels = shape[1]
        let plane = shape.dropFirst(2).reduce(1, *)
        for n in 0..<shape[0] {
            for c in 0..<channels {
                let base = (n * channels + c) * plane
                let (s, t) = (scale[c], shift[c])
                for i in base..<(base + plane) { output.pointer[i] = inputs[0].pointer[i] * s + t }
            }
        }
    }
}

/// Softmax along one axis (opset 13), or over the flattened trailing axes (earlier opsets).
struct Softmax: Operator {
    let axis: Int
    let flattenTrailing: Bool
    let label: String

    init(_ node: NodeContext) throws {
        try node.allowOnly(["axis"])
        flattenTrailing = node.opset < 13
        axis = node.int("axis", default: flattenTrailing ? 1 : -1)
        label = node.label
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        let rank = shapes[0].count
        guard (-rank..<rank).contains(axis) else {
            throw InferenceError(.shapeMismatch, "axis \(axis) is outside rank \(rank)", node: label)
        }
        return shapes[0]
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let shape = output.shape, a = axis < 0 ? axis + shape.count : axis
        let outer = shape[..<a].reduce(1, *)
        let (length, inner) = flattenTrailing ? (shape[a...].reduce(1, *), 1) : (shape[a], shape[(a + 1)...].reduce(1, *))
        let x = inputs[0].pointer, y = output.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var peak = -Float.infinity
                for k in 0..<length { peak = max(peak, x[base + k * inner]) }
                var sum: Float = 0
                for k in 0..<length {
                    let e = exp(x[base + k * inner] - peak)
                    y[base + k * inner] = e
                    sum += e
                }
                for k in 0..<length { y[base + k * inner] /= sum }
            }
        }
    }
}

/// Cast to a float or integer type. The executor carries every value as a float, so a cast to
/// an integer type truncates toward zero (as ONNX's float-to-integer casts do) and a cast to
/// bool gives 0 or 1; integers stay exact up to 2^24, far beyond the shapes and indices that
/// models cast.
struct Cast: Operator {
    enum Target: Sendable { case float, integer, bool }

    let target: Target
    /// A cast to float changes nothing: its output is its input.
    var isAlias: Bool { target == .float }

    init(_ node: NodeContext) throws {
        try node.allowOnly(["to", "saturate"])
        let to = node.int("to", default: 0)
        switch to {
        case 1, 11: target = .float                   // FLOAT, DOUBLE
        case 2, 3, 4, 5, 6, 7, 12, 13: target = .integer // UINT8, INT8, UINT16, INT16, INT32, INT64, UINT32, UINT64
        case 9: target = .bool
        default:
            throw node.error(.unsupported, "cast to data type \(to) is not supported; the executor casts to float, double, "
                             + "integer types and bool")
        }
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] { shapes[0] }

    /// Value by value, so any layout will do.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts { StepLayouts(inputs: offered, output: offered[0]) }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let x = inputs[0].pointer, y = output.pointer, count = output.count
        switch target {
        case .float: if x != y { y.update(from: x, count: count) }
        case .integer: for i in 0..<count { y[i] = x[i].rounded(.towardZero) }
        case .bool: for i in 0..<count { y[i] = x[i] != 0 ? 1 : 0 }
        }
    }
}
