import Foundation
import SwiftProtobuf

/// A tensor known when the model loads: an initializer or a Constant node's value.
enum ConstantValue {
    case float(NDArray)
    case int(shape: [Int], values: [Int64])

    var shape: [Int] {
        switch self {
        case .float(let array): array.shape
        case .int(let shape, _): shape
        }
    }

    /// The values as floats (integers converted).
    var floats: [Float] {
        switch self {
        case .float(let array): array.data
        case .int(_, let values): values.map(Float.init)
        }
    }

    /// The values as integers (floats truncated); nil when a float has no Int64 value (NaN,
    /// infinite or out of range), which callers report as a malformed model.
    var ints: [Int64]? {
        switch self {
        case .float(let array):
            var values: [Int64] = []
            values.reserveCapacity(array.data.count)
            for value in array.data {
                guard let whole = Int64(exactly: value.rounded(.towardZero)) else { return nil }
                values.append(whole)
            }
            return values
        case .int(_, let values): return values
        }
    }

    /// Tensors a model file declares are refused above this many elements (16 GiB of floats):
    /// more is a corrupt file, and a product that large is close to overflowing.
    static let maxElements = 1 << 32

    /// Decodes a TensorProto of a data type the executor reads: float, double, int32, int64.
    init(_ tensor: Gradeline_Onnx_TensorProto, context: String) throws {
        let shape = tensor.dims.map(Int.init)
        guard let count = elementCount(shape), count <= Self.maxElements else {
            throw InferenceError(.malformedModel, "tensor '\(tensor.name)' has dims \(shape): "
                                 + "each must be 0 or more and their product at most \(Self.maxElements)", node: context)
        }
        guard tensor.dataLocation == 0 else {
            throw InferenceError(.unsupported, "tensor '\(tensor.name)' keeps its data in an external file; save the model with the data inside", node: context)
        }
        func check(_ found: Int) throws {
            guard found == count else {
                throw InferenceError(.malformedModel, "tensor '\(tensor.name)' has \(found) values for shape \(shape)", node: context)
            }
        }
        // The values from raw_data (little-endian bytes) when it is there, else from the typed field.
        func read<T>(_ typed: [T], fromLittleEndian: (T) -> T) throws -> [T] {
            let raw = tensor.rawData
            guard !raw.isEmpty else {
                try check(typed.count)
                return typed
            }
            guard raw.count % MemoryLayout<T>.size == 0 else {
                throw InferenceError(.malformedModel, "tensor '\(tensor.name)' has \(raw.count) bytes of raw data, "
                                     + "not a multiple of \(MemoryLayout<T>.size)", node: context)
            }
            try check(raw.count / MemoryLayout<T>.size)
            let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                raw.copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            }
            return values.map(fromLittleEndian)
        }
        switch tensor.dataType {
        case 1:  // FLOAT
            let values = try read(tensor.floatData) { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
            self = .float(NDArray(shape: shape, data: values))
        case 11:  // DOUBLE
            let values = try read(tensor.doubleData) { Double(bitPattern: UInt64(littleEndian: $0.bitPattern)) }
            self = .float(NDArray(shape: shape, data: values.map(Float.init)))
        case 7:  // INT64
            self = .int(shape: shape, values: try read(tensor.int64Data) { Int64(littleEndian: $0) })
        case 6:  // INT32
            self = .int(shape: shape, values: try read(tensor.int32Data) { Int32(littleEndian: $0) }.map(Int64.init))
        default:
            throw InferenceError(.unsupported, "tensor '\(tensor.name)' has data type \(tensor.dataType); the executor reads float, double, int32 and int64", node: context)
        }
    }
}

/// The number of elements of `shape`; nil when a dimension is negative or the product overflows.
func elementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dimension in shape {
        guard dimension >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
        guard !overflow else { return nil }
        count = product
    }
    return count
}

/// One node as the operators see it: its attributes, its inputs, and which are constants.
struct NodeContext {
    let proto: Gradeline_Onnx_NodeProto
    let index: Int
    let opset: Int
    let constants: [String: ConstantValue]
    /// False to run convolutions on the portable SGEMM path only.
    var useOneDNN = true

    /// `'name' (OpType, node 12)`, for errors.
    var label: String { "'\(proto.name.isEmpty ? proto.output.first ?? "?" : proto.name)' (\(proto.opType), node \(index))" }

    func error(_ code: InferenceError.Code, _ reason: String) -> InferenceError {
        InferenceError(code, reason, node: label)
    }

    private func attribute(_ name: String) -> Gradeline_Onnx_AttributeProto? {
        proto.attribute.first { $0.name == name }
    }

    func int(_ name: String, default value: Int) -> Int { attribute(name).map { Int($0.i) } ?? value }
    func float(_ name: String, default value: Float) -> Float { attribute(name)?.f ?? value }
    func ints(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map(Int.init) } }
    func floats(_ name: String) -> [Float]? { attribute(name)?.floats }
    func string(_ name: String, default value: String) -> String {
        attribute(name).map { String(decoding: $0.s, as: UTF8.self) } ?? value
    }
    func tensor(_ name: String) -> Gradeline_Onnx_TensorProto? {
        guard let attribute = attribute(name), attribute.hasT else { return nil }
        return attribute.t
    }

    /// Fails on attributes the op does not read, so that a model is never silently misread.
    func allowOnly(_ names: Set<String>) throws {
        for attribute in proto.attribute where !names.contains(attribute.name) {
            throw error(.unsupported, "attribute '\(attribute.name)' is not supported")
        }
    }

    /// The name of input `index`, or nil when it is absent or left empty.
    func input(_ index: Int) -> String? {
        index < proto.input.count && !proto.input[index].isEmpty ? proto.input[index] : nil
    }

    /// A convolution's optional bias (input 2), one value per output channel.
    func bias(channels: Int) throws -> [Float]? {
        guard let bias = try constant(2, "bias") else { return nil }
        guard bias.shape == [channels] else {
            throw error(.malformedModel, "bias shape \(bias.shape) does not match \(channels) output channels")
        }
        return bias.floats
    }

    /// Input `index` as a load-time constant; throws when it is computed at run time.
    func constant(_ index: Int, _ what: String) throws -> ConstantValue? {
        guard let name = input(index) else { return nil }
        guard let value = constants[name] else {
            throw error(.unsupported, "input \(index) (\(what)) '\(name)' must be a constant (an initializer or a Constant node)")
        }
        return value
    }

    /// Input `index` as load-time integers (a shape, pads, sizes), or nil when it is absent.
    func constantInts(_ index: Int, _ what: String) throws -> [Int]? {
        guard let value = try constant(index, what) else { return nil }
        guard let ints = value.ints else {
            throw error(.malformedModel, "input \(index) (\(what)) holds values that are not whole numbers")
        }
        return ints.map { Int($0) }
    }
}

/// A parsed ONNX model: its nodes in order, its constants, inputs and outputs.
struct Graph {
    var nodes: [Gradeline_Onnx_NodeProto]
    var constants: [String: ConstantValue]
    /// Runtime inputs (initializers excluded), with their declared shapes (nil for a symbolic dim).
    var inputs: [(name: String, shape: [Int?])]
    var outputs: [String]
    var opset: Int
    var producer: String

    static func parse(_ bytes: Data, file: String) throws -> Graph {
        let model: Gradeline_Onnx_ModelProto
        do {
            model = try Gradeline_Onnx_ModelProto(serializedBytes: bytes)
        } catch {
            throw InferenceError(.malformedModel, "\(file) is not an ONNX model: \(error)")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else {
            throw InferenceError(.malformedModel, "\(file) has no graph (or a graph without nodes)")
        }
        var opset = 0
        for entry in model.opsetImport {
            if entry.domain.isEmpty || entry.domain == "ai.onnx" {
                opset = Int(entry.version)
            }
        }
        guard opset >= 7 else {
            throw InferenceError(.unsupported, "\(file) imports ONNX opset \(opset); the executor reads opsets 7 and later")
        }
        var constants: [String: ConstantValue] = [:]
        for tensor in model.graph.initializer {
            constants[tensor.name] = try ConstantValue(tensor, context: "initializer '\(tensor.name)'")
        }
        var inputs: [(String, [Int?])] = []
        for info in model.graph.input where constants[info.name] == nil {
            let shape = info.type.tensorType.shape.dim.map { dimension -> Int? in
                if case .dimValue(let value)? = dimension.value { return Int(value) }
                return nil
            }
            guard shape.allSatisfy({ $0 == nil || $0! >= 0 }) else {
                throw InferenceError(.malformedModel, "\(file): graph input '\(info.name)' has a negative dimension in \(shape.map { $0.map(String.init) ?? "?" })")
            }
            inputs.append((info.name, shape))
        }
        return Graph(nodes: model.graph.node, constants: constants, inputs: inputs,
                     outputs: model.graph.output.map(\.name), opset: opset, producer: model.producerName)
    }
}
