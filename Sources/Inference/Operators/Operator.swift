import CDNNL

/// A tensor during a run: a shape, its layout, and memory owned by the run.
struct TensorRef {
    var shape: [Int]
    var pointer: UnsafeMutablePointer<Float>
    var layout: TensorLayout = .rowMajor
    var count: Int { shape.reduce(1, *) }
}

/// The layouts a step reads its inputs in and writes its output in.
struct StepLayouts: Equatable {
    var inputs: [TensorLayout]
    var output: TensorLayout

    static func rowMajor(_ count: Int) -> StepLayouts { StepLayouts(inputs: Array(repeating: .rowMajor, count: count), output: .rowMajor) }
}

/// One ONNX op, configured from its node at load and run once per inference.
///
/// - Important: `run` may be called from several threads at once (one per concurrent job), so
///   an operator holds only immutable state.
protocol Operator: Sendable {
    /// The node inputs that flow at run time; the others (weights, shapes, scales) were read at load.
    var dataInputs: [Int] { get }
    /// The output's shape for these input shapes, or an error naming what does not fit.
    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int]
    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int)
    /// True when the output is the first input's data under another shape: no copy is made.
    var isAlias: Bool { get }
    /// The layouts the op reads and writes, offered the layouts its inputs arrive in; the
    /// planner converts an input that arrives in another. Called once per plan. By default
    /// everything is row-major, as ONNX defines it.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts
    /// The kernel that runs the op on these tensors, for the profile (nil for the executor's
    /// own loops).
    func kernel(_ inputs: [TensorRef], _ output: TensorRef) -> String?
}

extension Operator {
    var dataInputs: [Int] { [0] }
    var isAlias: Bool { false }
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts { .rowMajor(offered.count) }
    func kernel(_ inputs: [TensorRef], _ output: TensorRef) -> String? { nil }

    /// For ops that treat every channel alike and each pixel on its own plane: they take a 4-D
    /// input in whatever layout it comes, and write the same.
    func sameLayout(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts {
        guard shapes[0].count == 4 else { return .rowMajor(offered.count) }
        return StepLayouts(inputs: offered, output: offered[0])
    }
    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {}
}

/// Every op the executor implements, by ONNX op type.
enum Operators {
    static let supported = ["Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant",
                            "ConstantOfShape", "Conv", "ConvTranspose", "Flatten", "Gemm", "GlobalAveragePool",
                            "GlobalMaxPool", "Identity", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "Relu",
                            "Reshape", "Resize", "Sigmoid", "Slice", "Softmax", "Transpose", "Upsample"]

    static func make(_ node: NodeContext) throws -> any Operator {
        switch node.proto.opType {
        case "Conv": return try Convolution(node)
        case "ConvTranspose": return try TransposedConvolution(node)
        case "MaxPool": return try Pooling(node, kind: .max)
        case "AveragePool": return try Pooling(node, kind: .average)
        case "Relu": return try Activation(node, .relu)
        case "LeakyRelu": return try Activation(node, .leakyRelu(node.float("alpha", default: 0.01)))
        case "Sigmoid": return try Activation(node, .sigmoid)
        case "Clip": return try Activation.clip(node)
        case "Add": return try Binary(node, .add)
        case "Mul": return try Binary(node, .mul)
        case "BatchNormalization": return try BatchNormalization(node)
        case "Softmax": return try Softmax(node)
        case "Concat": return try Concat(node)
        case "Identity": return try Reshape.identity(node)
        case "Reshape": return try Reshape.reshape(node)
        case "Flatten": return try Reshape.flatten(node)
        case "Pad": return try Pad(node)
        case "Resize", "Upsample": return try Resize(node)
        case "GlobalAveragePool": return try GlobalPooling(node, kind: .average)
        case "GlobalMaxPool": return try GlobalPooling(node, kind: .max)
        case "Gemm": return try Gemm(node)
        case "MatMul": return try MatMul(node)
        case "Transpose": return try Transpose(node)
        case "Slice": return try Slice(node)
        case "Cast": return try Cast(node)
        case "ConstantOfShape": return try ConstantOfShape(node)
        default:
            throw node.error(.unsupported, "op '\(node.proto.opType)' is not supported; the executor implements \(supported.joined(separator: ", "))")
        }
    }
}

/// Runs `body` for each index in `0..<count`, on up to `threads` threads: the OpenMP threads
/// that also run oneDNN's convolutions. (With Dispatch's threads beside them, the two pools
/// fought over the cores: OpenMP's threads spin a while after each convolution, and at two
/// threads pooling and resizing ran slower than at one.)
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    if threads <= 1 || count <= 1 {
        for index in 0..<count { body(index) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        // Safe: callers give each index its own slice of the output, and cdnnl_parallel returns
        // only when every index is done, so the closure never outlives this call.
        var work = escapable
        withUnsafeMutablePointer(to: &work) { pointer in
            cdnnl_parallel(Int32(count), Int32(threads), { context, index in
                context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(index))
            }, pointer)
        }
    }
}

/// Pads, strides and dilations of a 2-D window op, resolved from its attributes.
struct Window2D: Sendable {
    var kernel: (Int, Int)
    var strides: (Int, Int)
    var dilations: (Int, Int)
    /// top, left, bottom, right
    var pads: (Int, Int, Int, Int)
    var autoPad: String
    var ceilMode: Bool

    init(_ node: NodeContext, kernel: (Int, Int)) throws {
        self.kernel = kernel
        let strides = node.ints("strides") ?? [1, 1]
        let dilations = node.ints("dilations") ?? [1, 1]
        let pads = node.ints("pads") ?? [0, 0, 0, 0]
        guard strides.count == 2, dilations.count == 2, pads.count == 4 else {
            throw node.error(.unsupported, "only 2-D windows are supported (strides \(strides), dilations \(dilations), pads \(pads))")
        }
        // The bound keeps the window arithmetic far from overflow; real models use single digits.
        guard strides.allSatisfy({ $0 > 0 }), dilations.allSatisfy({ $0 > 0 }), pads.allSatisfy({ $0 >= 0 }),
              kernel.0 >= 1, kernel.1 >= 1, (strides + dilations + pads + [kernel.0, kernel.1]).allSatisfy({ $0 <= 1 << 20 }) else {
            throw node.error(.malformedModel, "kernel, strides and dilations must be positive and pads not negative, all below 2^20 "
                             + "(strides \(strides), dilations \(dilations), pads \(pads), kernel \(kernel))")
        }
        self.strides = (strides[0], strides[1])
        self.dilations = (dilations[0], dilations[1])
        self.pads = (pads[0], pads[1], pads[2], pads[3])
        autoPad = node.string("auto_pad", default: "NOTSET")
        guard ["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(autoPad) else {
            throw node.error(.unsupported, "auto_pad '\(autoPad)' is not supported")
        }
        ceilMode = node.int("ceil_mode", default: 0) != 0
    }

    /// Output height and width, and the pads actually used (auto_pad resolved).
    func output(height: Int, width: Int) -> (Int, Int, (Int, Int, Int, Int)) {
        let extentH = (kernel.0 - 1) * dilations.0 + 1, extentW = (kernel.1 - 1) * dilations.1 + 1
        var pads = self.pads
        switch autoPad {
        case "VALID":
            pads = (0, 0, 0, 0)
        case "SAME_UPPER", "SAME_LOWER":
            let outH = (height + strides.0 - 1) / strides.0, outW = (width + strides.1 - 1) / strides.1
            let totalH = max(0, (outH - 1) * strides.0 + extentH - height)
            let totalW = max(0, (outW - 1) * strides.1 + extentW - width)
            let upper = autoPad == "SAME_UPPER"
            pads = (upper ? totalH / 2 : totalH - totalH / 2, upper ? totalW / 2 : totalW - totalW / 2,
                    upper ? totalH - totalH / 2 : totalH / 2, upper ? totalW - totalW / 2 : totalW / 2)
        default:
            break
        }
        func size(_ input: Int, _ before: Int, _ after: Int, _ extent: Int, _ stride: Int) -> Int {
            let span = input + before + after - extent
            return (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        }
        return (size(height, pads.0, pads.2, extentH, strides.0), size(width, pads.1, pads.3, extentW, strides.1), pads)
    }
}
