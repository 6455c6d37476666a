/// Copies the values of a strided view of `source` into `target` in row-major order of
/// `shape`: element `[i0, i1, ...]` of the view is `source[offset + i0 * strides[0] + ...]`.
/// Transpose and Slice are both such views.
func stridedCopy(_ source: UnsafePointer<Float>, offset: Int, strides: [Int], shape: [Int], into target: UnsafeMutablePointer<Float>) {
    let rank = shape.count
    guard rank > 0 else { target[0] = source[offset]; return }
    guard shape.allSatisfy({ $0 > 0 }) else { return }
    let inner = shape[rank - 1], innerStride = strides[rank - 1]
    let rows = shape.dropLast().reduce(1, *)
    var index = [Int](repeating: 0, count: rank - 1)
    var start = offset
    var out = target
    for _ in 0..<rows {
        if innerStride == 1 {
            out.update(from: source + start, count: inner)
        } else {
            for i in 0..<inner { out[i] = source[start + i * innerStride] }
        }
        out += inner
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            start += strides[axis]
            if index[axis] < shape[axis] { break }
            start -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// Row-major element strides of `shape`.
func rowMajorStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
    return strides
}

/// Transpose: the axes permuted by `perm` (reversed when it is not given).
struct Transpose: Operator {
    let perm: [Int]?
    let label: String

    init(_ node: NodeContext) throws {
        try node.allowOnly(["perm"])
        perm = node.ints("perm")
        if let perm, Set(perm) != Set(0..<perm.count) || perm.count != Set(perm).count {
            throw node.error(.malformedModel, "perm \(perm) is not a permutation of 0..<\(perm.count)")
        }
        label = node.label
    }

    private func permutation(rank: Int) throws(InferenceError) -> [Int] {
        guard let perm else { return Array((0..<rank).reversed()) }
        guard perm.count == rank else {
            throw InferenceError(.shapeMismatch, "perm \(perm) does not fit an input of rank \(rank)", node: label)
        }
        return perm
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        try permutation(rank: shapes[0].count).map { shapes[0][$0] }
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let x = inputs[0]
        guard let perm = try? permutation(rank: x.shape.count) else { return }
        let strides = rowMajorStrides(x.shape)
        stridedCopy(x.pointer, offset: 0, strides: perm.map { strides[$0] }, shape: output.shape, into: output.pointer)
    }
}

/// Slice (starts, ends, axes and steps as constant inputs from opset 10, as attributes before).
struct Slice: Operator {
    let starts: [Int]
    let ends: [Int]
    let axes: [Int]?
    let steps: [Int]
    let label: String

    init(_ node: NodeContext) throws {
        let starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]
        if node.opset >= 10 {
            try node.allowOnly([])
            guard let given = try node.constantInts(1, "starts"), let until = try node.constantInts(2, "ends") else {
                throw node.error(.malformedModel, "Slice needs starts and ends inputs")
            }
            starts = given
            ends = until
            axes = try node.constantInts(3, "axes")
            steps = try node.constantInts(4, "steps") ?? Array(repeating: 1, count: starts.count)
        } else {
            try node.allowOnly(["starts", "ends", "axes"])
            guard let given = node.ints("starts"), let until = node.ints("ends") else {
                throw node.error(.malformedModel, "Slice needs starts and ends attributes")
            }
            starts = given
            ends = until
            axes = node.ints("axes")
            steps = Array(repeating: 1, count: starts.count)
        }
        guard ends.count == starts.count, (axes?.count ?? starts.count) == starts.count, steps.count == starts.count else {
            throw node.error(.malformedModel, "starts, ends, axes and steps must have one value per sliced axis "
                             + "(they have \(starts.count), \(ends.count), \(axes?.count ?? starts.count) and \(steps.count))")
        }
        guard !steps.contains(0) else { throw node.error(.malformedModel, "steps \(steps) include 0") }
        self.starts = starts
        self.ends = ends
        self.axes = axes
        self.steps = steps
        label = node.label
    }

    /// Per input axis: the first index taken, the step, and how many are taken.
    private func ranges(_ shape: [Int]) throws(InferenceError) -> [(start: Int, step: Int, count: Int)] {
        let rank = shape.count
        var ranges = shape.map { (start: 0, step: 1, count: $0) }
        var seen = Set<Int>()
        for (i, axis) in (axes ?? Array(0..<starts.count)).enumerated() {
            let a = axis < 0 ? axis + rank : axis
            guard (0..<rank).contains(a), seen.insert(a).inserted else {
                throw InferenceError(.shapeMismatch, "axes \(axes ?? Array(0..<starts.count)) are outside rank \(rank) or repeat", node: label)
            }
            let (dim, step) = (shape[a], steps[i])
            // Negative positions count from the end; then both are clamped to the axis
            // (one place further out at the far end when stepping backwards).
            var start = starts[i] < 0 ? starts[i] + dim : starts[i]
            var end = ends[i] < 0 ? ends[i] + dim : ends[i]
            if step > 0 {
                start = min(max(start, 0), dim)
                end = min(max(end, 0), dim)
                ranges[a] = (start, step, end > start ? (end - start - 1) / step + 1 : 0)
            } else {
                start = min(max(start, 0), dim - 1)
                end = min(max(end, -1), dim - 1)
                ranges[a] = (start, step, start > end ? (start - end - 1) / -step + 1 : 0)
            }
        }
        return ranges
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] { try ranges(shapes[0]).map(\.count) }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let x = inputs[0]
        guard let ranges = try? ranges(x.shape) else { return }
        let strides = rowMajorStrides(x.shape)
        let offset = zip(ranges, strides).reduce(0) { $0 + $1.0.start * $1.1 }
        stridedCopy(x.pointer, offset: offset, strides: zip(ranges, strides).map { $0.step * $1 },
                    shape: output.shape, into: output.pointer)
    }
}

/// ConstantOfShape: a tensor of the shape its (constant) input gives, filled with `value`.
/// It is always computed at load.
struct ConstantOfShape: Operator {
    let shape: [Int]
    let value: Float
    var dataInputs: [Int] { [] }

    init(_ node: NodeContext) throws {
        try node.allowOnly(["value"])
        guard let shape = try node.constantInts(0, "shape") else { throw node.error(.malformedModel, "ConstantOfShape needs a shape input") }
        guard let count = elementCount(shape), count <= ConstantValue.maxElements else {
            throw node.error(.malformedModel, "shape \(shape) has a negative dimension or too many elements")
        }
        self.shape = shape
        if let tensor = node.tensor("value") {
            let value = try ConstantValue(tensor, context: node.label)
            guard value.floats.count == 1 else {
                throw node.error(.malformedModel, "value must hold one element; it has shape \(value.shape)")
            }
            self.value = value.floats[0]
        } else {
            value = 0
        }
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] { shape }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        output.pointer.update(repeating: value, count: output.count)
    }
}
