import Foundation
import Testing
@testable import Inference

/// The fixtures that experiment/make_op_fixtures.py writes: one small model per op
/// configuration, with onnxruntime's output.
enum OpFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ops")

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".onnx") }.map { String($0.dropLast(5)) }.sorted()
    }
}

@Suite("The executor matches onnxruntime op by op")
struct OperatorParityTests {
    @Test("every op fixture is present")
    func fixturesPresent() {
        #expect(OpFixtures.names.count >= 58, "found \(OpFixtures.names)")
    }

    /// At 1 and 2 threads (and 0, which counts as 1), with convolutions on oneDNN and on the
    /// portable SGEMM path.
    @Test("each op configuration matches onnxruntime within 1e-5", arguments: OpFixtures.names)
    func matchesOnnxRuntime(_ name: String) throws {
        let base = OpFixtures.folder.appendingPathComponent(name).path
        let input = try NPY.read(base + ".input.npy")
        let expected = try NPY.read(base + ".output.npy")
        for useOneDNN in [true, false] {
            let model = try InferenceModel(contentsOf: base + ".onnx", useOneDNN: useOneDNN)
            for threads in [0, 1, 2] {
                let output = try #require(try model.run(input, threads: threads)["y"])
                #expect(output.shape == expected.shape)
                let worst = maxAbsDifference(output.data, expected.data)
                #expect(worst <= 1e-5, "\(name), \(threads) threads, oneDNN \(useOneDNN): max abs difference \(worst)")
            }
        }
    }

    @Test("a Clip after a Conv folds into it when nothing else reads the Conv; otherwise it stays")
    func clipFolds() throws {
        func folded(_ name: String) throws -> (clips: Int, bounds: [ClosedRange<Float>]) {
            let model = try InferenceModel(contentsOf: OpFixtures.folder.appendingPathComponent(name + ".onnx").path)
            let clips = model.steps.filter { ($0.op as? Activation).map { if case .clip = $0.function { true } else { false } } ?? false }
            return (clips.count, model.steps.compactMap { ($0.op as? Convolution)?.fusedClip })
        }
        let chain = try folded("conv_clip_relu6_chain")
        #expect(chain.clips == 0)
        #expect(chain.bounds == [0...6, 0...6, -1.5...Float.greatestFiniteMagnitude])
        let shared = try folded("conv_clip_shared")
        #expect(shared.clips == 1)
        #expect(shared.bounds.isEmpty)
        let inverted = try folded("conv_clip_min_above_max")
        #expect(inverted.clips == 1)
        #expect(inverted.bounds.isEmpty)
    }

    @Test("a depthwise convolution fed NHWC runs in NHWC: no conversion on either side of it")
    func depthwiseKeepsNHWC() throws {
        let plan = try Self.plan("inverted_residual_nhwc", [2, 24, 13, 11])
        try Self.expectNHWC(plan, group: 48)
        #expect(plan.steps.filter { $0.step.op is LayoutConversion }.count <= 2, "only the graph's input and output convert")
    }

    @Test("a grouped convolution whose groups fill no 8-channel block runs in NHWC, not on NCHW's GEMM kernel")
    func groupsOfSixInNHWC() throws {
        try Self.expectNHWC(try Self.plan("conv_groups_of_6_nhwc", [1, 16, 9, 10]), group: 8)
    }

    /// The plan an op fixture gets for one input shape, at 1 thread.
    static func plan(_ fixture: String, _ shape: [Int]) throws -> InferenceModel.Plan {
        let model = try InferenceModel(contentsOf: OpFixtures.folder.appendingPathComponent(fixture + ".onnx").path)
        return try model.plan(for: .init(shapes: [shape], threads: 1))
    }

    /// Expects the plan's convolution of `group` groups to read and write NHWC.
    static func expectNHWC(_ plan: InferenceModel.Plan, group: Int) throws {
        let step = try #require(plan.steps.first { ($0.step.op as? Convolution)?.group == group })
        #expect(step.inputs[0].2 == .nhwc && step.output.2 == .nhwc,
                "the \(group)-group step reads \(step.inputs[0].2) and writes \(step.output.2)")
    }

    @Test("Add and Mul with a single value keep the tensor's layout: no conversion between the convolutions")
    func scalarKeepsLayout() throws {
        let plan = try Self.plan("conv_add_mul_scalar", [1, 16, 6, 7])
        let binaries = plan.steps.filter { $0.step.op is Binary }
        #expect(binaries.count == 2)
        #expect(binaries.allSatisfy { $0.output.2 != .rowMajor }, "\(binaries.map(\.output.2))")
        #expect(plan.steps.filter { $0.step.op is LayoutConversion }.count <= 2, "only the graph's input and output convert")
    }

    @Test("an unsupported op is a load error naming the node and the op")
    func unsupportedOp() throws {
        var node = Gradeline_Onnx_NodeProto()
        node.opType = "LSTM"
        node.name = "recurrent"
        node.input = ["x", "w", "r"]
        node.output = ["y"]
        let data = try Self.model(nodes: [node]).serializedData()
        #expect {
            _ = try InferenceModel(data: data, file: "lstm.onnx")
        } throws: { error in
            guard let error = error as? InferenceError else { return false }
            return error.code == .unsupported && error.description.hasPrefix("node 'recurrent' (LSTM, node 0): op 'LSTM' is not supported")
        }
    }

    @Test("an unsupported attribute is a load error, never a wrong answer")
    func unsupportedAttribute() throws {
        var node = Gradeline_Onnx_NodeProto()
        node.opType = "Relu"
        node.input = ["x"]
        node.output = ["y"]
        var attribute = Gradeline_Onnx_AttributeProto()
        attribute.name = "mystery"
        node.attribute = [attribute]
        let data = try Self.model(nodes: [node]).serializedData()
        #expect(throws: InferenceError.self) { try InferenceModel(data: data, file: "relu.onnx") }
    }

    @Test("constant tensors decode from raw bytes and from typed fields, for every data type read")
    func constantTensors() throws {
        func tensor(_ type: Int32, raw: [UInt8] = []) -> Gradeline_Onnx_TensorProto {
            var tensor = Gradeline_Onnx_TensorProto()
            tensor.name = "k"
            tensor.dims = [2]
            tensor.dataType = type
            tensor.rawData = Data(raw)
            return tensor
        }
        func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        #expect(try ConstantValue(tensor(1, raw: bytes([Float(1.5), -2])), context: "t").floats == [1.5, -2])
        #expect(try ConstantValue(tensor(11, raw: bytes([Double(0.25), 3])), context: "t").floats == [0.25, 3])
        #expect(try ConstantValue(tensor(7, raw: bytes([Int64(-7), 9])), context: "t").ints == [-7, 9])
        #expect(try ConstantValue(tensor(6, raw: bytes([Int32(4), -1])), context: "t").ints == [4, -1])
        var typed = tensor(6)
        typed.int32Data = [5, 6]
        #expect(try ConstantValue(typed, context: "t").ints == [5, 6])
        var short = tensor(1)
        short.floatData = [1]
        #expect(throws: InferenceError.self) { try ConstantValue(short, context: "t") }
        #expect(throws: InferenceError.self) { try ConstantValue(tensor(7, raw: bytes([Int64(1)])), context: "t") }
    }

    @Test("a file that is not ONNX is a clear load error")
    func malformed() {
        #expect {
            _ = try InferenceModel(data: Data("not a model at all".utf8), file: "junk.onnx")
        } throws: { error in
            (error as? InferenceError)?.code == .malformedModel
        }
    }

    @Test("an input of the wrong shape is refused with both shapes")
    func wrongInput() throws {
        let model = try InferenceModel(contentsOf: OpFixtures.folder.appendingPathComponent("conv_pointwise.onnx").path)
        #expect {
            _ = try model.run(NDArray(zeros: [1, 3, 6, 5]))
        } throws: { error in
            (error as? InferenceError)?.description == "input 'x' has shape [1, 3, 6, 5]; the model takes 1x8x6x5"
        }
    }

    static func model(nodes: [Gradeline_Onnx_NodeProto]) -> Gradeline_Onnx_ModelProto {
        var model = Gradeline_Onnx_ModelProto()
        model.irVersion = 7
        var opset = Gradeline_Onnx_OperatorSetIdProto()
        opset.version = 13
        model.opsetImport = [opset]
        var input = Gradeline_Onnx_ValueInfoProto()
        input.name = "x"
        model.graph.input = [input]
        var output = Gradeline_Onnx_ValueInfoProto()
        output.name = "y"
        model.graph.output = [output]
        model.graph.node = nodes
        return model
    }
}
