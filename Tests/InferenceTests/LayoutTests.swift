import Foundation
import Testing
@testable import Inference

/// The ops that take oneDNN's layouts (NHWC, nChw8c, nChw16c) must give, value for value, what
/// they give on row-major input. Which layouts a model meets depends on the CPU's oneDNN kernels
/// (nChw16c and a little NHWC on the AVX-512 development machine), so all are fed here directly.
@Suite("Ops give the same values in every layout")
struct LayoutTests {
    static let layouts: [TensorLayout] = [.nhwc, .blocked(8), .blocked(16)]

    @Test("a layout conversion puts each value where the layout says")
    func conversionPlacesValues() {
        // 1 image, 2 channels, 1 x 3 pixels: channel 0 is 0 1 2, channel 1 is 10 11 12.
        let rowMajor: [Float] = [0, 1, 2, 10, 11, 12]
        #expect(Self.convert(rowMajor, shape: [1, 2, 1, 3], from: .rowMajor, to: .nhwc) == [0, 10, 1, 11, 2, 12])
        // 16 channels of 2 pixels in nChw8c: two blocks, each pixel's 8 channels together.
        let sixteen = (0..<32).map(Float.init)
        let blocked = Self.convert(sixteen, shape: [1, 16, 1, 2], from: .rowMajor, to: .blocked(8))
        #expect(Array(blocked[0..<8]) == [0, 2, 4, 6, 8, 10, 12, 14])
        #expect(Array(blocked[16..<24]) == [16, 18, 20, 22, 24, 26, 28, 30])
        // One block of all the channels is NHWC; the planner converts nothing between them.
        #expect(TensorLayout.blocked(16).sameOrder(as: .nhwc, channels: 16))
        #expect(!TensorLayout.blocked(16).sameOrder(as: .nhwc, channels: 32))
        #expect(Self.convert(sixteen, shape: [1, 16, 1, 2], from: .nhwc, to: .blocked(16)) == sixteen)
        for layout in Self.layouts {
            let there = Self.convert(sixteen, shape: [1, 16, 1, 2], from: .rowMajor, to: layout)
            #expect(Self.convert(there, shape: [1, 16, 1, 2], from: layout, to: .rowMajor) == sixteen)
        }
    }

    @Test("converting directly between any two layouts equals going through row-major",
          arguments: [16, 24, 48])
    func directConversions(_ channels: Int) {
        let shape = [2, channels, 5, 7]
        let values = (0..<shape.reduce(1, *)).map { Float($0) }
        let all: [TensorLayout] = [.rowMajor] + Self.layouts
        for from in all where channels % from.lanes(channels: channels) == 0 {
            let source = Self.convert(values, shape: shape, from: .rowMajor, to: from)
            for to in all where channels % to.lanes(channels: channels) == 0 {
                let direct = Self.convert(source, shape: shape, from: from, to: to)
                #expect(direct == Self.convert(values, shape: shape, from: .rowMajor, to: to), "\(from) to \(to), \(channels) channels")
            }
        }
    }

    @Test("pooling", arguments: [("MaxPool", [0, 0, 1, 1], 1), ("AveragePool", [1, 1, 1, 1], 0), ("AveragePool", [1, 0, 0, 1], 1)])
    func pooling(_ op: String, pads: [Int], ceilMode: Int) throws {
        let node = Self.node(op, ints: ["kernel_shape": [3, 2], "strides": [2, 2], "pads": pads, "ceil_mode": [ceilMode]])
        let pooling = try Pooling(node, kind: op == "MaxPool" ? .max : .average)
        try Self.expectSameInEveryLayout(pooling, [[2, 16, 7, 9]])
    }

    @Test("pooling a pixel's 16 channels at once: a ResNet stem's 3 x 3 stride-2 MaxPool, and dilated and padded windows",
          arguments: [("MaxPool", [3, 3], [1, 1, 1, 1], [1, 1]), ("MaxPool", [3, 3], [0, 2, 1, 0], [2, 1]),
                      ("AveragePool", [3, 3], [1, 1, 1, 1], [1, 1]), ("AveragePool", [2, 3], [1, 0, 0, 2], [1, 2])])
    func poolingVectors(_ op: String, kernel: [Int], pads: [Int], dilations: [Int]) throws {
        let node = Self.node(op, ints: ["kernel_shape": kernel, "strides": [2, 2], "pads": pads, "dilations": dilations])
        try Self.expectSameInEveryLayout(try Pooling(node, kind: op == "MaxPool" ? .max : .average), [[2, 32, 9, 11]])
    }

    @Test("pooling 16 channels at once keeps the lane loop's bits: NaN, -0 and +0 as Swift.max and the sums give them",
          arguments: [Pooling.Kind.max, .average])
    func poolingVectorBits(_ kind: Pooling.Kind) throws {
        let node = Self.node(kind == .max ? "MaxPool" : "AveragePool",
                             ints: ["kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]])
        let pooling = try Pooling(node, kind: kind)
        let shape = [1, 16, 5, 5]
        // Every value -1 but, in each channel, -0 then +0 at the start of row 0 (the first
        // window meets them in that order: a max that keeps a tap only when > would give -0),
        // +0 then -0 at the start of row 2, and a NaN at the end of row 4.
        var input = [Float](repeating: -1, count: shape.reduce(1, *))
        for channel in 0..<16 {
            let plane = channel * 25
            (input[plane], input[plane + 1], input[plane + 10], input[plane + 11]) = (-0.0, 0.0, 0.0, -0.0)
            input[plane + 24] = .nan
        }
        let outputShape = try pooling.outputShape([shape])
        let expected = Self.run(pooling, [input], [shape], outputShape, layout: .rowMajor)
        let vector = Self.run(pooling, [input], [shape], outputShape, layout: .blocked(16))
        #expect(vector.map(\.bitPattern) == expected.map(\.bitPattern))
        // The input reaches the cases: signed zeros from a max, NaN from an average.
        #expect(kind == .max ? expected.contains { $0 == 0 && $0.sign == .plus } : expected.contains { $0.isNaN })
    }

    @Test("pooling's 2 x 2 stride-2 fast path, on odd sizes", arguments: [Pooling.Kind.max, .average])
    func pooling2x2(_ kind: Pooling.Kind) throws {
        let node = Self.node(kind == .max ? "MaxPool" : "AveragePool", ints: ["kernel_shape": [2, 2], "strides": [2, 2]])
        try Self.expectSameInEveryLayout(try Pooling(node, kind: kind), [[2, 16, 7, 9]])
    }

    @Test("resizing", arguments: ["linear", "nearest"])
    func resizing(_ mode: String) throws {
        // 5 rows to 37: the executor works in blocks of 16 output rows, the last one partial.
        let scales = ConstantValue.float(NDArray(shape: [4], data: [1, 1, 7.4, 1.5]))
        let node = Self.node("Resize", inputs: ["x", "", "scales"], strings: ["mode": mode], constants: ["scales": scales])
        try Self.expectSameInEveryLayout(try Resize(node), [[2, 16, 5, 6]])
    }

    @Test("concatenating channels")
    func concatenating() throws {
        let concat = try Concat(Self.node("Concat", inputs: ["a", "b"], ints: ["axis": [1]]))
        try Self.expectSameInEveryLayout(concat, [[2, 16, 3, 4], [2, 32, 3, 4]])
    }

    @Test("a Pad with no pads (PyTorch's before nn.AvgPool2d) copies in any layout")
    func zeroPad() throws {
        let pads = ConstantValue.int(shape: [8], values: [Int64](repeating: 0, count: 8))
        let node = Self.node("Pad", inputs: ["x", "pads"], constants: ["pads": pads])
        try Self.expectSameInEveryLayout(try Pad(node), [[2, 16, 5, 6]])
    }

    @Test("activations and same-shape Add")
    func elementwise() throws {
        try Self.expectSameInEveryLayout(try Activation(Self.node("LeakyRelu"), .leakyRelu(0.1)), [[2, 16, 3, 4]])
        try Self.expectSameInEveryLayout(try Binary(Self.node("Add", inputs: ["a", "b"]), .add), [[2, 16, 3, 4], [2, 16, 3, 4]])
    }

    @Test("global pooling, whose one-pixel output is in the input's layout", arguments: [Pooling.Kind.average, .max])
    func globalPooling(_ kind: Pooling.Kind) throws {
        let pooling = try GlobalPooling(Self.node(kind == .max ? "GlobalMaxPool" : "GlobalAveragePool"), kind: kind)
        try Self.expectSameInEveryLayout(pooling, [[2, 32, 5, 7]])
    }

    @Test("casts")
    func casts() throws {
        for to in [7, 9] {
            try Self.expectSameInEveryLayout(try Cast(Self.node("Cast", ints: ["to": [to]])), [[2, 16, 3, 4]])
        }
    }

    /// Runs `op` on seeded inputs in row-major order and in each layout, and compares.
    static func expectSameInEveryLayout(_ op: any Operator, _ shapes: [[Int]]) throws {
        var seed: UInt64 = 7
        let inputs = shapes.map { shape in
            (0..<shape.reduce(1, *)).map { _ -> Float in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Float(seed >> 40) / Float(1 << 24) * 2 - 1
            }
        }
        let outputShape = try op.outputShape(shapes)
        let expected = run(op, inputs, shapes, outputShape, layout: .rowMajor)
        for layout in layouts {
            #expect(op.layouts(offered: shapes.map { _ in layout }, shapes: shapes).output == layout)
            let output = run(op, inputs, shapes, outputShape, layout: layout)
            let worst = maxAbsDifference(output, expected)
            #expect(worst == 0, "\(type(of: op)) in \(layout): max abs difference \(worst)")
        }
    }

    /// `op`'s output, in row-major order, with inputs and output in `layout`.
    static func run(_ op: any Operator, _ inputs: [[Float]], _ shapes: [[Int]], _ outputShape: [Int], layout: TensorLayout) -> [Float] {
        let laidOut = zip(inputs, shapes).map { convert($0, shape: $1, from: .rowMajor, to: layout) }
        var output = [Float](repeating: .nan, count: outputShape.reduce(1, *))
        withPointers(laidOut) { pointers in
            let refs = zip(pointers, shapes).map { TensorRef(shape: $1, pointer: $0, layout: layout) }
            output.withUnsafeMutableBufferPointer { out in
                op.run(refs, TensorRef(shape: outputShape, pointer: out.baseAddress!, layout: layout), threads: 2)
            }
        }
        return convert(output, shape: outputShape, from: layout, to: .rowMajor)
    }

    static func convert(_ values: [Float], shape: [Int], from: TensorLayout, to: TensorLayout) -> [Float] {
        var source = values
        var target = [Float](repeating: .nan, count: values.count)
        source.withUnsafeMutableBufferPointer { input in
            target.withUnsafeMutableBufferPointer { output in
                LayoutConversion().run([TensorRef(shape: shape, pointer: input.baseAddress!, layout: from)],
                                                    TensorRef(shape: shape, pointer: output.baseAddress!, layout: to), threads: 1)
            }
        }
        return target
    }

    /// Calls `body` with a pointer into each array.
    static func withPointers(_ arrays: [[Float]], _ body: ([UnsafeMutablePointer<Float>]) -> Void) {
        let pointers = arrays.map { array in
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: array.count)
            pointer.initialize(from: array, count: array.count)
            return pointer
        }
        defer { pointers.forEach { $0.deallocate() } }
        body(pointers)
    }

    static func node(_ op: String, inputs: [String] = ["x"], ints: [String: [Int]] = [:], strings: [String: String] = [:],
                     constants: [String: ConstantValue] = [:]) -> NodeContext {
        var proto = Gradeline_Onnx_NodeProto()
        proto.opType = op
        proto.input = inputs
        proto.output = ["y"]
        for (name, values) in ints.sorted(by: { $0.key < $1.key }) {
            var attribute = Gradeline_Onnx_AttributeProto()
            attribute.name = name
            if values.count == 1 && name != "kernel_shape" && name != "strides" && name != "pads" {
                attribute.i = Int64(values[0])
            } else {
                attribute.ints = values.map(Int64.init)
            }
            proto.attribute.append(attribute)
        }
        for (name, value) in strings {
            var attribute = Gradeline_Onnx_AttributeProto()
            attribute.name = name
            attribute.s = Data(value.utf8)
            proto.attribute.append(attribute)
        }
        return NodeContext(proto: proto, index: 0, opset: 13, constants: constants)
    }
}
