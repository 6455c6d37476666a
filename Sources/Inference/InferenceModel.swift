import CDNNL
import COpenBLAS
import Foundation
import Synchronization

/// An ONNX model, read and checked once, that runs on float32 NCHW inputs.
///
/// Loading parses the protobuf, turns Constant nodes and initializers into constants, builds
/// one operator per node (an unsupported op or attribute is an error naming the node), and
/// checks that every node reads only what earlier nodes produce. The first run for an input
/// shape plans the graph: output shapes, and buffers reused once their last reader has run.
/// Plans are cached per input shape.
///
/// - Important: `run` is safe to call from several threads at once; each run has its own buffers.
public final class InferenceModel: Sendable {
    struct LoadedStep: Sendable {
        let op: any Operator
        let inputs: [String]
        let output: String
        let label: String
    }

    /// Where a value lives during a run.
    enum Location: Sendable {
        case slot(Int)
        case constant(ConstantBuffer)
    }

    /// A constant's values in memory of their own, made once per plan and only ever read.
    ///
    /// - Important: `@unchecked Sendable` is safe because nothing writes the memory after
    ///   `init`: operators only read their inputs.
    final class ConstantBuffer: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Float>
        let count: Int

        init(_ values: [Float]) {
            count = values.count
            pointer = .allocate(capacity: max(count, 1))
            values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
        }

        deinit { pointer.deallocate() }

        var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    }

    struct PlannedStep: Sendable {
        let step: LoadedStep
        let inputs: [(Location, [Int], TensorLayout)]
        let output: (Int, [Int], TensorLayout)
    }

    struct Plan: Sendable {
        let steps: [PlannedStep]
        let slotSizes: [Int]
        let inputSlots: [(String, Int)]
        let outputs: [(String, Location, [Int])]
        let arenas: ArenaPool
    }

    public let file: String
    /// The graph's runtime inputs with their declared shapes (nil for a symbolic dimension).
    public let inputs: [(name: String, shape: [Int?])]
    public let outputs: [String]
    public let opset: Int
    let steps: [LoadedStep]
    let constants: [String: ConstantValue]
    private let plans = Mutex<[PlanKey: Plan]>([:])

    struct PlanKey: Hashable {
        let shapes: [[Int]]
        let threads: Int
    }

    /// Reads and checks the model at `path`. With `useOneDNN` false, convolutions run on the
    /// portable im2col and SGEMM path only, for comparing the two.
    public convenience init(contentsOf path: String, useOneDNN: Bool = true) throws(InferenceError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InferenceError(.malformedModel, "cannot read the model file '\(path)'")
        }
        try self.init(data: data, file: path, useOneDNN: useOneDNN)
    }

    public init(data: Data, file: String, useOneDNN: Bool = true) throws(InferenceError) {
        let graph: Graph
        do {
            graph = try Graph.parse(data, file: file)
        } catch let error as InferenceError {
            throw error
        } catch {
            throw InferenceError(.malformedModel, "\(file): \(error)")
        }
        self.file = file
        inputs = graph.inputs
        outputs = graph.outputs
        opset = graph.opset
        var constants = graph.constants
        var known = Set(graph.inputs.map(\.name)).union(constants.keys)
        var steps: [LoadedStep] = []
        for (index, node) in graph.nodes.enumerated() {
            let context = NodeContext(proto: node, index: index, opset: graph.opset, constants: constants, useOneDNN: useOneDNN)
            do {
                guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                    throw context.error(.unsupported, "domain '\(node.domain)' is not supported; only standard ONNX ops are")
                }
                if node.opType == "Constant" {
                    guard node.output.count == 1, !node.output[0].isEmpty else {
                        throw context.error(.malformedModel, "a Constant must have exactly one named output; this one has \(node.output.count)")
                    }
                    constants[node.output[0]] = try Self.constant(context)
                    known.insert(node.output[0])
                    continue
                }
                let op = try Operators.make(context)
                guard node.output.count >= 1, !node.output[0].isEmpty, node.output.dropFirst().allSatisfy(\.isEmpty) else {
                    throw context.error(.unsupported, "only the first output is supported; this node has \(node.output.count)")
                }
                let names = op.dataInputs.map { $0 < node.input.count ? node.input[$0] : "" }
                for name in names where !known.contains(name) {
                    throw context.error(.malformedModel, "reads '\(name)', which no earlier node, input or initializer provides")
                }
                // A node whose inputs are all constants (an exporter's Identity of a weight, say)
                // is computed once, here.
                if names.allSatisfy({ constants[$0] != nil }) {
                    constants[node.output[0]] = .float(try Self.fold(op, names.map { constants[$0]! }))
                    known.insert(node.output[0])
                    continue
                }
                steps.append(LoadedStep(op: op, inputs: names, output: node.output[0], label: context.label))
                known.insert(node.output[0])
            } catch let error as InferenceError {
                throw error
            } catch {
                throw context.error(.malformedModel, "\(error)")
            }
        }
        for output in graph.outputs where !known.contains(output) {
            throw InferenceError(.malformedModel, "graph output '\(output)' is produced by no node")
        }
        self.steps = Self.fuseConcat(Self.fuseActivations(steps, outputs: Set(graph.outputs)), outputs: Set(graph.outputs),
                                     constants: Set(constants.keys))
        self.constants = constants
    }

    /// Folds each Relu or Clip into the Conv before it when nothing else reads the Conv's
    /// output; the activation step becomes a pass-through. A Clip (MobileNet's ReLU6) left
    /// standalone was a third of mobilenetv2's run: a pass over a large tensor for a clamp the
    /// convolution can do as it writes. Clamping is exact, so finite values are the same bits
    /// (a NaN, which a standalone step passes on, comes out of oneDNN's clamp as the bound).
    private static func fuseActivations(_ steps: [LoadedStep], outputs: Set<String>) -> [LoadedStep] {
        var readers: [String: Int] = [:]
        for step in steps { for name in step.inputs { readers[name, default: 0] += 1 } }
        var fused = steps
        for (index, step) in steps.enumerated() {
            guard let activation = step.op as? Activation,
                  let producer = fused.firstIndex(where: { $0.output == step.inputs[0] }),
                  var convolution = fused[producer].op as? Convolution, convolution.fusedClip == nil,
                  readers[step.inputs[0]] == 1, !outputs.contains(step.inputs[0]) else { continue }
            switch activation.function {
            case .relu where !convolution.fusedRelu: convolution.fusedRelu = true
            case .clip(let low, let high) where low <= high: convolution.fusedClip = low...high
            default: continue
            }
            fused[producer] = LoadedStep(op: convolution, inputs: fused[producer].inputs, output: fused[producer].output,
                                         label: fused[producer].label)
            fused[index] = LoadedStep(op: Reshape(rule: .same, label: step.label), inputs: step.inputs,
                                      output: step.output, label: step.label)
        }
        return fused
    }

    /// Runs each channel Concat whose only reader is an ungrouped Conv as one ConcatConvolution
    /// step (see there), when the Concat's inputs all flow at run time.
    private static func fuseConcat(_ steps: [LoadedStep], outputs: Set<String>, constants: Set<String>) -> [LoadedStep] {
        var readers: [String: [Int]] = [:]
        for (index, step) in steps.enumerated() { for name in step.inputs { readers[name, default: []].append(index) } }
        var fused = steps
        var removed = Set<Int>()
        for (index, step) in steps.enumerated() {
            guard let concat = step.op as? Concat, concat.axis == 1, !outputs.contains(step.output),
                  step.inputs.allSatisfy({ !constants.contains($0) }),
                  let only = readers[step.output], only.count == 1,
                  let convolution = steps[only[0]].op as? Convolution, convolution.group == 1,
                  steps[only[0]].inputs == [step.output] else { continue }
            let reader = steps[only[0]]
            let label = "\(step.label) + \(reader.label)"
            fused[only[0]] = LoadedStep(op: ConcatConvolution(concat: concat, convolution: convolution, label: label),
                                        inputs: step.inputs, output: reader.output, label: label)
            removed.insert(index)
        }
        return fused.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }

    /// With GRADELINE_INFERENCE_PROFILE=1, each run prints every step's time to standard error.
    static let profiling = ProcessInfo.processInfo.environment["GRADELINE_INFERENCE_PROFILE"] == "1"

    /// Sets how many threads OpenBLAS (the portable convolution path) uses, for the whole
    /// process. oneDNN's count comes from each `run(threads:)`.
    public static func setThreads(_ threads: Int) {
        openblas_set_num_threads(Int32(max(1, threads)))
    }

    /// Runs the model on its single input; returns every graph output.
    public func run(_ input: NDArray, threads: Int = 1) throws(InferenceError) -> [String: NDArray] {
        guard inputs.count == 1 else {
            throw InferenceError(.badInput, "the model has \(inputs.count) inputs; name them")
        }
        return try run([inputs[0].name: input], threads: threads)
    }

    /// Runs the model; `threads` also splits the element-wise work of pooling and resizing.
    public func run(_ feeds: [String: NDArray], threads: Int = 1) throws(InferenceError) -> [String: NDArray] {
        for (name, declared) in inputs {
            guard let feed = feeds[name] else { throw InferenceError(.badInput, "input '\(name)' is missing") }
            guard feed.shape.count == declared.count,
                  zip(feed.shape, declared).allSatisfy({ $1 == nil || $0 == $1 }) else {
                let expected = declared.map { $0.map(String.init) ?? "?" }.joined(separator: "x")
                throw InferenceError(.badInput, "input '\(name)' has shape \(feed.shape); the model takes \(expected)")
            }
        }
        let threads = max(1, threads)
        // OpenMP keeps the thread count per calling thread, and jobs run on many: set it for this
        // run (and put the caller's back after). oneDNN splits a convolution's work, and so its
        // sums, for the count its plan was made with, so plans are kept per count: the same count
        // gives the same bits.
        let callersThreads = cdnnl_threads()
        cdnnl_set_threads(Int32(threads))
        defer { cdnnl_set_threads(callersThreads) }
        let plan = try self.plan(for: PlanKey(shapes: inputs.map { feeds[$0.name]!.shape }, threads: threads))
        let arena = plan.arenas.take()
        defer { plan.arenas.give(arena) }
        let buffers = arena.buffers
        for (name, slot) in plan.inputSlots {
            feeds[name]!.data.withUnsafeBufferPointer { buffers[slot].update(from: $0.baseAddress!, count: $0.count) }
        }
        let profiling = Self.profiling
        var profile: [(String, Duration)] = []
        for planned in plan.steps {
            let refs = planned.inputs.map { location, shape, layout -> TensorRef in
                switch location {
                case .slot(let slot): TensorRef(shape: shape, pointer: buffers[slot], layout: layout)
                case .constant(let buffer): TensorRef(shape: shape, pointer: buffer.pointer, layout: layout)
                }
            }
            let (slot, shape, layout) = planned.output
            let output = TensorRef(shape: shape, pointer: buffers[slot], layout: layout)
            let started = profiling ? ContinuousClock.now : nil
            planned.step.op.run(refs, output, threads: threads)
            if let started {
                let elapsed = started.duration(to: .now)
                let layouts = "\(refs.map { "\($0.shape) \($0.layout)" }.joined(separator: ", ")) to \(shape) \(layout)"
                let kernel = planned.step.op.kernel(refs, output).map { ", \($0)" } ?? ""
                profile.append(("\(planned.step.label): \(layouts)\(kernel)", elapsed))
            }
        }
        if profiling {
            let lines = profile.map { "\($0.1) \($0.0)" }.joined(separator: "\n")
            let megabytes = Double(plan.slotSizes.reduce(0, +) * MemoryLayout<Float>.size) / 1_048_576
            let memory = String(format: "%.1f MiB in %d buffers", megabytes, plan.slotSizes.count)
            FileHandle.standardError.write(Data("inference profile (\(memory) per run):\n\(lines)\n".utf8))
        }
        var results: [String: NDArray] = [:]
        for (name, location, shape) in plan.outputs {
            let count = shape.reduce(1, *)
            switch location {
            case .slot(let slot): results[name] = NDArray(shape: shape, data: Array(UnsafeBufferPointer(start: buffers[slot], count: count)))
            case .constant(let buffer): results[name] = NDArray(shape: shape, data: buffer.values)
            }
        }
        return results
    }

    /// The plan for these input shapes and thread count, made once and cached.
    func plan(for key: PlanKey) throws(InferenceError) -> Plan {
        if let cached = plans.withLock({ $0[key] }) { return cached }
        let plan = try makePlan(key.shapes)
        plans.withLock { $0[key] = plan }
        return plan
    }

    /// A step in a plan, before buffers are assigned: the loaded step (inputs renamed to their
    /// converted copies where the op wants another layout) and the layouts it reads and writes.
    private struct LaidOutStep {
        let step: LoadedStep
        let layouts: StepLayouts
    }

    /// Shapes and layouts of every value for these input shapes, with a conversion step wherever
    /// an op wants an input in another layout than it was written in. Graph outputs end row-major.
    private func layOut(_ inputShapes: [[Int]]) throws(InferenceError)
        -> (steps: [LaidOutStep], shapes: [String: [Int]], outputs: [String]) {
        var shapeOf: [String: [Int]] = [:]
        var layoutOf: [String: TensorLayout] = [:]
        for (input, shape) in zip(inputs, inputShapes) { shapeOf[input.name] = shape }
        var laidOut: [LaidOutStep] = []
        func shape(_ name: String, _ label: String) throws(InferenceError) -> [Int] {
            if let shape = shapeOf[name] { return shape }
            if let constant = constants[name] { return constant.shape }
            throw InferenceError(.malformedModel, "'\(name)' has no value", node: label)
        }
        // The name of `name`'s value in `layout`, converting it once if it was written in another.
        func provide(_ name: String, in layout: TensorLayout, _ label: String) throws(InferenceError) -> String {
            let current = layoutOf[name] ?? .rowMajor
            let valueShape = try shape(name, label)
            // Layouts differ only in how they interleave channels across pixels: with one pixel
            // (a global pooling's output), every layout that fits the channels is NCHW's order.
            if current == layout || valueShape.count == 4
                && (current.sameOrder(as: layout, channels: valueShape[1]) || valueShape[2] * valueShape[3] == 1) { return name }
            let converted = "\(name) in \(layout)"
            if layoutOf[converted] == nil {
                guard valueShape.count == 4 else {
                    throw InferenceError(.unsupported, "'\(name)' of shape \(valueShape) cannot take the \(layout) layout", node: label)
                }
                let step = LoadedStep(op: LayoutConversion(), inputs: [name],
                                      output: converted, label: "'\(name)' \(current) to \(layout)")
                laidOut.append(LaidOutStep(step: step, layouts: StepLayouts(inputs: [current], output: layout)))
                shapeOf[converted] = valueShape
                layoutOf[converted] = layout
            }
            return converted
        }
        for step in steps {
            let shapes = try step.inputs.map { name throws(InferenceError) in try shape(name, step.label) }
            let outputShape = try step.op.outputShape(shapes)
            guard let count = elementCount(outputShape), count <= ConstantValue.maxElements else {
                throw InferenceError(.shapeMismatch, "the output shape \(outputShape) has a negative dimension or too many elements", node: step.label)
            }
            var layouts = step.op.layouts(offered: step.inputs.map { layoutOf[$0] ?? .rowMajor }, shapes: shapes)
            if outputShape.count != 4 || zip(shapes, layouts.inputs).contains(where: { $0.count != 4 && $1 != .rowMajor }) {
                layouts = .rowMajor(step.inputs.count)
            }
            var names: [String] = []
            for (name, layout) in zip(step.inputs, layouts.inputs) { names.append(try provide(name, in: layout, step.label)) }
            laidOut.append(LaidOutStep(step: LoadedStep(op: step.op, inputs: names, output: step.output, label: step.label),
                                       layouts: layouts))
            shapeOf[step.output] = outputShape
            layoutOf[step.output] = layouts.output
        }
        var outputNames: [String] = []
        for name in outputs { outputNames.append(try provide(name, in: .rowMajor, "graph output '\(name)'")) }
        return (laidOut, shapeOf, outputNames)
    }

    private func makePlan(_ inputShapes: [[Int]]) throws(InferenceError) -> Plan {
        let (steps, shapeOf, outputNames) = try layOut(inputShapes)
        // Values: name -> storage. Aliases share their input's storage.
        var storageOf: [String: Int] = [:]
        var storageCount = 0
        var inputSlots: [(String, Int)] = []
        for input in inputs {
            storageOf[input.name] = storageCount
            inputSlots.append((input.name, storageCount))
            storageCount += 1
        }
        var storageSize = [Int](inputShapes.map { $0.reduce(1, *) })
        var stepOutputs: [(storage: Int, fresh: Bool)] = []
        for laidOut in steps {
            let step = laidOut.step
            if step.op.isAlias, let source = storageOf[step.inputs[0]] {
                storageOf[step.output] = source
                stepOutputs.append((source, false))
            } else {
                storageOf[step.output] = storageCount
                storageSize.append(shapeOf[step.output]!.reduce(1, *))
                stepOutputs.append((storageCount, true))
                storageCount += 1
            }
        }
        // Last reader of each storage; graph outputs live to the end.
        var lastUse = [Int](repeating: -1, count: storageCount)
        for (index, laidOut) in steps.enumerated() {
            for name in laidOut.step.inputs { if let storage = storageOf[name] { lastUse[storage] = max(lastUse[storage], index) } }
        }
        for name in outputNames { if let storage = storageOf[name] { lastUse[storage] = Int.max } }
        // Map storages onto slots, reusing a slot once its storage's last reader has run.
        var slotOf = [Int](repeating: -1, count: storageCount)
        var slotSizes: [Int] = []
        var free: [Int] = []
        func assign(_ storage: Int) {
            let size = storageSize[storage]
            if let best = free.filter({ slotSizes[$0] >= size }).min(by: { slotSizes[$0] < slotSizes[$1] })
                ?? free.max(by: { slotSizes[$0] < slotSizes[$1] }) {
                free.removeAll { $0 == best }
                slotSizes[best] = max(slotSizes[best], size)
                slotOf[storage] = best
            } else {
                slotOf[storage] = slotSizes.count
                slotSizes.append(size)
            }
        }
        for (_, slot) in inputSlots { assign(slot) }
        var planned: [PlannedStep] = []
        for (index, laidOut) in steps.enumerated() {
            let step = laidOut.step
            let output = stepOutputs[index]
            if output.fresh { assign(output.storage) }
            let inputs = zip(step.inputs, laidOut.layouts.inputs).map { name, layout -> (Location, [Int], TensorLayout) in
                if let storage = storageOf[name] { return (.slot(slotOf[storage]), shapeOf[name]!, layout) }
                let constant = constants[name]!
                return (.constant(ConstantBuffer(constant.floats)), constant.shape, layout)
            }
            if !step.op.isAlias {
                planned.append(PlannedStep(step: step, inputs: inputs,
                                           output: (slotOf[output.storage], shapeOf[step.output]!, laidOut.layouts.output)))
            }
            for storage in Set(step.inputs.compactMap { storageOf[$0] }) where lastUse[storage] == index {
                if !free.contains(slotOf[storage]) { free.append(slotOf[storage]) }
            }
        }
        let outputLocations = zip(outputs, outputNames).map { name, value -> (String, Location, [Int]) in
            if let storage = storageOf[value] { return (name, .slot(slotOf[storage]), shapeOf[value]!) }
            let constant = constants[value]!
            return (name, .constant(ConstantBuffer(constant.floats)), constant.shape)
        }
        return Plan(steps: planned, slotSizes: slotSizes,
                    inputSlots: inputSlots.map { ($0.0, slotOf[$0.1]) }, outputs: outputLocations,
                    arenas: ArenaPool(sizes: slotSizes))
    }

    /// Runs `op` on constant inputs at load time.
    private static func fold(_ op: any Operator, _ inputs: [ConstantValue]) throws -> NDArray {
        let shape = try op.outputShape(inputs.map(\.shape))
        guard let count = elementCount(shape), count <= ConstantValue.maxElements else {
            throw InferenceError(.malformedModel, "the output shape \(shape) has a negative dimension or too many elements")
        }
        if op.isAlias { return NDArray(shape: shape, data: inputs[0].floats) }
        // An empty result has nothing to compute (and an empty array no memory to point at).
        if count == 0 { return NDArray(shape: shape, data: []) }
        let buffers = inputs.map { input -> UnsafeMutablePointer<Float> in
            let values = input.floats
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(values.count, 1))
            values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
            return pointer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var result = NDArray(zeros: shape)
        result.data.withUnsafeMutableBufferPointer { out in
            op.run(zip(inputs, buffers).map { TensorRef(shape: $0.0.shape, pointer: $0.1) },
                   TensorRef(shape: shape, pointer: out.baseAddress!), threads: 1)
        }
        return result
    }

    /// The value of a Constant node.
    private static func constant(_ node: NodeContext) throws -> ConstantValue {
        if let tensor = node.tensor("value") { return try ConstantValue(tensor, context: node.label) }
        if let value = node.floats("value_floats") { return .float(NDArray(shape: [value.count], data: value)) }
        if let value = node.ints("value_ints") { return .int(shape: [value.count], values: value.map(Int64.init)) }
        if node.proto.attribute.contains(where: { $0.name == "value_float" }) {
            return .float(NDArray(shape: [], data: [node.float("value_float", default: 0)]))
        }
        if node.proto.attribute.contains(where: { $0.name == "value_int" }) {
            return .int(shape: [], values: [Int64(node.int("value_int", default: 0))])
        }
        throw node.error(.unsupported, "the Constant has no value, value_float(s) or value_int(s)")
    }
}
