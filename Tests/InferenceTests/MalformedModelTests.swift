import Foundation
import Testing
@testable import Inference

/// Models built here, broken on purpose: each must fail to load with an InferenceError that
/// names the node or tensor at fault, never trap.
@Suite("A malformed model file is a load error naming the node, never a crash")
struct MalformedModelTests {
    static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "",
                     _ attributes: [Gradeline_Onnx_AttributeProto] = []) -> Gradeline_Onnx_NodeProto {
        var node = Gradeline_Onnx_NodeProto()
        node.opType = op
        node.input = inputs
        node.output = outputs
        node.name = name
        node.attribute = attributes
        return node
    }

    static func tensor(_ name: String, dims: [Int64], floats: [Float] = [], raw: [UInt8]? = nil) -> Gradeline_Onnx_TensorProto {
        var tensor = Gradeline_Onnx_TensorProto()
        tensor.name = name
        tensor.dims = dims
        tensor.dataType = 1
        tensor.floatData = floats
        if let raw { tensor.rawData = Data(raw) }
        return tensor
    }

    static func attribute(_ name: String, tensor: Gradeline_Onnx_TensorProto? = nil, int: Int64? = nil,
                          ints: [Int64]? = nil) -> Gradeline_Onnx_AttributeProto {
        var attribute = Gradeline_Onnx_AttributeProto()
        attribute.name = name
        if let tensor { attribute.t = tensor }
        if let int { attribute.i = int }
        if let ints { attribute.ints = ints }
        return attribute
    }

    /// A model with input x of `inputShape`, the given nodes, then `Relu(last) -> y`.
    static func model(_ nodes: [Gradeline_Onnx_NodeProto], initializers: [Gradeline_Onnx_TensorProto] = [],
                      last: String = "x", inputShape: [Int64] = [1, 2, 4, 4]) throws -> Data {
        var model = Gradeline_Onnx_ModelProto()
        var opset = Gradeline_Onnx_OperatorSetIdProto()
        opset.version = 13
        model.opsetImport = [opset]
        var input = Gradeline_Onnx_ValueInfoProto()
        input.name = "x"
        input.type.tensorType.elemType = 1
        input.type.tensorType.shape.dim = inputShape.map { value in
            var dimension = Gradeline_Onnx_TensorShapeProto.Dimension()
            dimension.dimValue = value
            return dimension
        }
        var output = Gradeline_Onnx_ValueInfoProto()
        output.name = "y"
        model.graph.input = [input]
        model.graph.output = [output]
        model.graph.initializer = initializers
        model.graph.node = nodes + [node("Relu", [last], ["y"], name: "final")]
        return try model.serializedData()
    }

    /// Loads `data` and runs it on the input shape of `model`, expecting an InferenceError (at
    /// load, or at planning for the first input) whose text contains each of `mentions`.
    static func expectLoadError(_ data: Data, _ mentions: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let model = try InferenceModel(data: data, file: "broken.onnx")
            _ = try model.run(NDArray(zeros: [1, 2, 4, 4]))
            Issue.record("the model loaded and ran", sourceLocation: sourceLocation)
        } catch {
            for mention in mentions {
                #expect(error.description.contains(mention), "\(error)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("the unbroken base model loads and runs")
    func baseModelLoads() throws {
        let model = try InferenceModel(data: try Self.model([]), file: "ok.onnx")
        let output = try model.run(NDArray(shape: [1, 2, 4, 4], data: (0..<32).map { Float($0) - 16 }))
        #expect(output["y"]?.data.min() == 0)
    }

    @Test("a Constant node with no outputs")
    func constantWithoutOutputs() throws {
        let value = Self.attribute("value", tensor: Self.tensor("c", dims: [1], floats: [1]))
        Self.expectLoadError(try Self.model([Self.node("Constant", [], [], name: "lonely", [value])]),
                             "'lonely' (Constant, node 0)", "exactly one named output")
        Self.expectLoadError(try Self.model([Self.node("Constant", [], [""], name: "blank", [value])]), "'blank' (Constant, node 0)")
    }

    @Test("initializer dims whose product overflows, or is negative, or is huge")
    func initializerDims() throws {
        let relu = Self.node("Add", ["x", "w"], ["z"], name: "add")
        for dims: [Int64] in [[1 << 32, 1 << 32, 1 << 32], [-1, 4], [-2, -2], [1 << 40], [Int64.max, 2]] {
            Self.expectLoadError(try Self.model([relu], initializers: [Self.tensor("w", dims: dims)], last: "z"),
                                 "initializer 'w'", "dims \(dims.map { Int($0) })")
        }
    }

    @Test("a Constant whose tensor has overflowing dims names the Constant")
    func constantDims() throws {
        let value = Self.attribute("value", tensor: Self.tensor("c", dims: [1 << 62, 4]))
        Self.expectLoadError(try Self.model([Self.node("Constant", [], ["c"], name: "big", [value])]), "'big' (Constant, node 0)")
    }

    @Test("raw data shorter than the dims, or not whole floats")
    func rawDataLength() throws {
        let add = Self.node("Add", ["x", "w"], ["z"], name: "add")
        Self.expectLoadError(try Self.model([add], initializers: [Self.tensor("w", dims: [4], raw: [0, 0, 0, 0, 0, 0, 0, 0])], last: "z"),
                             "initializer 'w'", "2 values for shape [4]")
        Self.expectLoadError(try Self.model([add], initializers: [Self.tensor("w", dims: [1], raw: [0, 0, 0, 0, 0])], last: "z"),
                             "initializer 'w'", "5 bytes")
        Self.expectLoadError(try Self.model([add], initializers: [Self.tensor("w", dims: [3], floats: [1])], last: "z"),
                             "1 values for shape [3]")
    }

    @Test("a node that reads a value nothing provides")
    func missingInput() throws {
        Self.expectLoadError(try Self.model([Self.node("Relu", ["nowhere"], ["z"], name: "r")], last: "z"),
                             "'r' (Relu, node 0)", "reads 'nowhere'")
        Self.expectLoadError(try Self.model([Self.node("Add", ["x"], ["z"], name: "half")], last: "z"), "'half' (Add, node 0)")
    }

    @Test("a node with no output")
    func nodeWithoutOutput() throws {
        Self.expectLoadError(try Self.model([Self.node("Relu", ["x"], [], name: "mute")]), "'mute' (Relu, node 0)")
    }

    @Test("a Reshape whose shape is NaN or enormous")
    func reshapeShapes() throws {
        let nan = Self.tensor("s", dims: [2], floats: [.nan, 4])
        Self.expectLoadError(try Self.model([Self.node("Reshape", ["x", "s"], ["z"], name: "shape")], initializers: [nan], last: "z"),
                             "'shape' (Reshape, node 0)", "not whole numbers")
        var huge = Gradeline_Onnx_TensorProto()
        huge.name = "s"
        huge.dims = [3]
        huge.dataType = 7
        huge.int64Data = [1 << 40, 1 << 40, -1]
        Self.expectLoadError(try Self.model([Self.node("Reshape", ["x", "s"], ["z"], name: "shape")], initializers: [huge], last: "z"),
                             "'shape' (Reshape, node 0)")
    }

    @Test("a Concat with no inputs")
    func concatWithoutInputs() throws {
        Self.expectLoadError(try Self.model([Self.node("Concat", [], ["z"], name: "empty", [Self.attribute("axis", int: 1)])], last: "z"),
                             "'empty' (Concat, node 0)")
    }

    @Test("a ConvTranspose with group 0 or a zero stride")
    func transposedConvolutionAttributes() throws {
        let weights = Self.tensor("w", dims: [2, 1, 2, 2], floats: Array(repeating: 1, count: 8))
        for attribute in [Self.attribute("group", int: 0), Self.attribute("strides", ints: [0, 1])] {
            Self.expectLoadError(try Self.model([Self.node("ConvTranspose", ["x", "w"], ["z"], name: "up", [attribute])],
                                                initializers: [weights], last: "z"), "'up' (ConvTranspose, node 0)")
        }
    }

    @Test("a pooling window with a huge or negative kernel")
    func poolingKernel() throws {
        for kernel: [Int64] in [[-1, 2], [1 << 40, 1]] {
            Self.expectLoadError(try Self.model([Self.node("MaxPool", ["x"], ["z"], name: "pool",
                                                           [Self.attribute("kernel_shape", ints: kernel)])], last: "z"),
                                 "'pool' (MaxPool, node 0)")
        }
    }

    @Test("a Resize with infinite or negative scales")
    func resizeScales() throws {
        for scales: [Float] in [[1, 1, .infinity, 2], [1, 1, -2, 2], [1, 1, .nan, 2]] {
            let roi = Self.tensor("roi", dims: [0])
            let scale = Self.tensor("scales", dims: [4], floats: scales)
            Self.expectLoadError(try Self.model([Self.node("Resize", ["x", "roi", "scales"], ["z"], name: "grow")],
                                                initializers: [roi, scale], last: "z"), "'grow' (Resize, node 0)")
        }
    }

    @Test("a Gemm whose operands are not matrices, do not multiply, or whose C does not broadcast")
    func gemmShapes() throws {
        let flatten = Self.node("Flatten", ["x"], ["f"], name: "flat")
        func gemm(_ b: [Int64], c: [Int64]? = nil, _ attributes: [Gradeline_Onnx_AttributeProto] = []) throws -> Data {
            var initializers = [Self.tensor("b", dims: b, floats: Array(repeating: 0.5, count: b.reduce(1, *).clamped))]
            if let c { initializers.append(Self.tensor("c", dims: c, floats: Array(repeating: 1, count: c.reduce(1, *).clamped))) }
            return try Self.model([flatten, Self.node("Gemm", ["f", "b"] + (c == nil ? [] : ["c"]), ["z"], name: "fc", attributes)],
                                  initializers: initializers, last: "z")
        }
        Self.expectLoadError(try gemm([32, 2, 1]), "'fc' (Gemm, node 1)", "must both be matrices")
        Self.expectLoadError(try gemm([16, 3]), "'fc' (Gemm, node 1)", "do not multiply (32 against 16)")
        Self.expectLoadError(try gemm([32, 4], [Self.attribute("transA", int: 2)]), "'fc' (Gemm, node 1)", "transA and transB must be 0 or 1")
        Self.expectLoadError(try gemm([32, 4], c: [3]), "'fc' (Gemm, node 1)", "does not broadcast")
        Self.expectLoadError(try gemm([32, 4], [Self.attribute("broadcast", int: 1)]), "'fc' (Gemm, node 1)", "attribute 'broadcast'")
        // The same Gemm with fitting operands runs, so the cases above fail for their reason.
        let model = try InferenceModel(data: try gemm([32, 4], c: [4]), file: "gemm.onnx")
        #expect(try model.run(NDArray(zeros: [1, 2, 4, 4]))["y"]?.data == [1, 1, 1, 1])
    }

    @Test("a MatMul whose inner dimensions differ")
    func matMulShapes() throws {
        let b = Self.tensor("b", dims: [5, 3], floats: Array(repeating: 1, count: 15))
        Self.expectLoadError(try Self.model([Self.node("MatMul", ["x", "b"], ["z"], name: "product")], initializers: [b], last: "z"),
                             "'product' (MatMul, node 0)", "(4 against 5)")
    }

    @Test("a Transpose whose perm is no permutation, or does not fit the rank")
    func transposePerm() throws {
        for (perm, mention) in [([0, 0, 1, 2], "is not a permutation"), ([1, 0], "does not fit an input of rank 4"),
                                ([0, 1, 2, 5], "is not a permutation")] as [([Int64], String)] {
            Self.expectLoadError(try Self.model([Self.node("Transpose", ["x"], ["z"], name: "swap", [Self.attribute("perm", ints: perm)])],
                                                last: "z"), "'swap' (Transpose, node 0)", mention)
        }
    }

    @Test("a Slice with a zero step, repeated axes, mismatched lengths or starts computed at run time")
    func sliceParameters() throws {
        func slice(starts: [Float], ends: [Float], axes: [Float]? = nil, steps: [Float]? = nil) throws -> Data {
            var initializers = [Self.tensor("s", dims: [Int64(starts.count)], floats: starts),
                                Self.tensor("e", dims: [Int64(ends.count)], floats: ends)]
            var inputs = ["x", "s", "e"]
            if let axes { initializers.append(Self.tensor("a", dims: [Int64(axes.count)], floats: axes)); inputs.append("a") }
            if let steps {
                if axes == nil { inputs.append("") }
                initializers.append(Self.tensor("t", dims: [Int64(steps.count)], floats: steps))
                inputs.append("t")
            }
            return try Self.model([Self.node("Slice", inputs, ["z"], name: "cut")], initializers: initializers, last: "z")
        }
        Self.expectLoadError(try slice(starts: [0], ends: [2], axes: [1], steps: [0]), "'cut' (Slice, node 0)", "include 0")
        Self.expectLoadError(try slice(starts: [0, 0], ends: [2, 2], axes: [1, -3]), "'cut' (Slice, node 0)", "repeat")
        Self.expectLoadError(try slice(starts: [0], ends: [2], axes: [4]), "'cut' (Slice, node 0)", "outside rank 4")
        Self.expectLoadError(try slice(starts: [0, 1], ends: [2]), "'cut' (Slice, node 0)", "one value per sliced axis")
        Self.expectLoadError(try Self.model([Self.node("Slice", ["x", "x", "x"], ["z"], name: "cut")], last: "z"),
                             "'cut' (Slice, node 0)", "must be a constant")
        // A valid slice of the same kind runs: the last two columns, backwards.
        let model = try InferenceModel(data: try slice(starts: [-1], ends: [1], axes: [3], steps: [-1]), file: "slice.onnx")
        #expect(try model.run(NDArray(zeros: [1, 2, 4, 4]))["y"]?.shape == [1, 2, 4, 2])
    }

    @Test("a Cast to a type the executor does not carry")
    func castTarget() throws {
        for to: Int64 in [10, 16, 8, 0] {  // FLOAT16, BFLOAT16, STRING, none
            let attributes = to == 0 ? [] : [Self.attribute("to", int: to)]
            Self.expectLoadError(try Self.model([Self.node("Cast", ["x"], ["z"], name: "convert", attributes)], last: "z"),
                                 "'convert' (Cast, node 0)", "cast to data type \(to) is not supported")
        }
    }

    @Test("a ConstantOfShape whose shape flows at run time, is negative, or whose value is not one element")
    func constantOfShape() throws {
        Self.expectLoadError(try Self.model([Self.node("ConstantOfShape", ["x"], ["z"], name: "fill")], last: "z"),
                             "'fill' (ConstantOfShape, node 0)", "must be a constant")
        let negative = Self.tensor("s", dims: [2], floats: [2, -3])
        Self.expectLoadError(try Self.model([Self.node("ConstantOfShape", ["s"], ["z"], name: "fill")], initializers: [negative], last: "z"),
                             "'fill' (ConstantOfShape, node 0)", "negative dimension")
        let shape = Self.tensor("s", dims: [2], floats: [2, 3])
        let pair = Self.attribute("value", tensor: Self.tensor("v", dims: [2], floats: [1, 2]))
        Self.expectLoadError(try Self.model([Self.node("ConstantOfShape", ["s"], ["z"], name: "fill", [pair])], initializers: [shape], last: "z"),
                             "'fill' (ConstantOfShape, node 0)", "one element")
        // An empty shape is valid: it folds to an empty constant without trapping.
        let empty = Self.tensor("s", dims: [2], floats: [3, 0])
        let model = try InferenceModel(data: try Self.model([Self.node("ConstantOfShape", ["s"], ["nothing"], name: "fill")],
                                                            initializers: [empty]), file: "empty.onnx")
        #expect(try model.run(NDArray(zeros: [1, 2, 4, 4]))["y"]?.shape == [1, 2, 4, 4])
    }

    @Test("a global pooling with an attribute, or of an input without spatial axes")
    func globalPooling() throws {
        Self.expectLoadError(try Self.model([Self.node("GlobalAveragePool", ["x"], ["z"], name: "gap", [Self.attribute("kernel_shape", ints: [2, 2])])],
                                            last: "z"), "'gap' (GlobalAveragePool, node 0)", "attribute 'kernel_shape'")
        Self.expectLoadError(try Self.model([Self.node("Flatten", ["x"], ["f"], name: "flat"),
                                             Self.node("GlobalMaxPool", ["f"], ["z"], name: "gmp")], last: "z"),
                             "'gmp' (GlobalMaxPool, node 1)", "no spatial axes")
    }

    @Test("a graph input with a negative dimension")
    func negativeInputDimension() throws {
        Self.expectLoadError(try Self.model([], inputShape: [1, -3, 4, 4]), "graph input 'x'", "negative")
    }

    @Test("a file that is not protobuf at all")
    func notProtobuf() {
        Self.expectLoadError(Data([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), "broken.onnx")
    }
}

private extension Int64 {
    /// The element count of a test tensor, as an Int (dims here are small).
    var clamped: Int { Int(clamping: self) }
}
