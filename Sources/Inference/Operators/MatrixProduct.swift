import COpenBLAS

/// Gemm: `alpha * A' * B' + beta * C`, where A' and B' are A and B or their transposes, and C
/// (optional) broadcasts to the result. Any input may be a constant (a classifier's weights
/// and bias usually are); the product runs on OpenBLAS's SGEMM.
struct Gemm: Operator {
    let alpha: Float
    let beta: Float
    let transA: Bool
    let transB: Bool
    let hasC: Bool
    let label: String
    var dataInputs: [Int] { hasC ? [0, 1, 2] : [0, 1] }

    init(_ node: NodeContext) throws {
        try node.allowOnly(["alpha", "beta", "transA", "transB"])
        alpha = node.float("alpha", default: 1)
        beta = node.float("beta", default: 1)
        let transA = node.int("transA", default: 0), transB = node.int("transB", default: 0)
        guard [0, 1].contains(transA), [0, 1].contains(transB) else {
            throw node.error(.malformedModel, "transA and transB must be 0 or 1 (they are \(transA) and \(transB))")
        }
        self.transA = transA == 1
        self.transB = transB == 1
        guard node.input(0) != nil, node.input(1) != nil else { throw node.error(.malformedModel, "Gemm needs inputs A and B") }
        hasC = node.input(2) != nil
        label = node.label
    }

    /// M, K and N of the product for these shapes of A and B.
    private func dimensions(_ a: [Int], _ b: [Int]) throws(InferenceError) -> (m: Int, k: Int, n: Int) {
        guard a.count == 2, b.count == 2 else {
            throw InferenceError(.shapeMismatch, "A \(a) and B \(b) must both be matrices", node: label)
        }
        let (m, k) = transA ? (a[1], a[0]) : (a[0], a[1])
        let (kb, n) = transB ? (b[1], b[0]) : (b[0], b[1])
        guard k == kb else {
            throw InferenceError(.shapeMismatch, "A \(a)\(transA ? " transposed" : "") and B \(b)\(transB ? " transposed" : "") "
                                 + "do not multiply (\(k) against \(kb))", node: label)
        }
        return (m, k, n)
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        let (m, _, n) = try dimensions(shapes[0], shapes[1])
        if hasC {
            let c = shapes[2]
            let padded = Array(repeating: 1, count: max(0, 2 - c.count)) + c
            guard c.count <= 2, padded[0] == 1 || padded[0] == m, padded[1] == 1 || padded[1] == n else {
                throw InferenceError(.shapeMismatch, "C \(c) does not broadcast to the result [\(m), \(n)]", node: label)
            }
        }
        return [m, n]
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        guard let dimensions = try? dimensions(inputs[0].shape, inputs[1].shape) else { return }
        let (m, k, n) = dimensions
        guard m > 0, n > 0 else { return }
        let y = output.pointer
        var accumulate: Float = 0
        if hasC && beta != 0 {
            let c = inputs[2]
            let padded = Array(repeating: 1, count: 2 - c.shape.count) + c.shape
            let (rowStride, columnStride) = (padded[0] == 1 ? 0 : padded[1], padded[1] == 1 ? 0 : 1)
            for i in 0..<m {
                for j in 0..<n { y[i * n + j] = beta * c.pointer[i * rowStride + j * columnStride] }
            }
            accumulate = 1
        }
        guard k > 0 else {
            if accumulate == 0 { y.update(repeating: 0, count: m * n) }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, inputs[0].pointer, Int32(inputs[0].shape[1]),
                    inputs[1].pointer, Int32(inputs[1].shape[1]), accumulate, y, Int32(n))
    }
}

/// MatMul with NumPy's semantics: the last two axes multiply as matrices, the ones before
/// broadcast, and a 1-D operand counts as a row (A) or a column (B) that the result drops.
struct MatMul: Operator {
    let label: String
    var dataInputs: [Int] { [0, 1] }

    init(_ node: NodeContext) throws {
        try node.allowOnly([])
        guard node.input(0) != nil, node.input(1) != nil else { throw node.error(.malformedModel, "MatMul needs two inputs") }
        label = node.label
    }

    /// The operands as stacks of matrices: the broadcast batch shape, M, K, N, and the
    /// result's shape.
    private func plan(_ a: [Int], _ b: [Int]) throws(InferenceError) -> (batch: [Int], m: Int, k: Int, n: Int, shape: [Int]) {
        guard !a.isEmpty, !b.isEmpty else {
            throw InferenceError(.shapeMismatch, "MatMul does not take scalars (shapes \(a) and \(b))", node: label)
        }
        let a2 = a.count == 1 ? [1] + a : a, b2 = b.count == 1 ? b + [1] : b
        let (m, k) = (a2[a2.count - 2], a2[a2.count - 1])
        let (kb, n) = (b2[b2.count - 2], b2[b2.count - 1])
        guard k == kb else {
            throw InferenceError(.shapeMismatch, "shapes \(a) and \(b) do not multiply (\(k) against \(kb))", node: label)
        }
        guard let batch = Broadcast.shape(Array(a2.dropLast(2)), Array(b2.dropLast(2))) else {
            throw InferenceError(.shapeMismatch, "the batch axes of \(a) and \(b) do not broadcast", node: label)
        }
        var shape = batch
        if a.count > 1 { shape.append(m) }
        if b.count > 1 { shape.append(n) }
        return (batch, m, k, n, shape)
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] { try plan(shapes[0], shapes[1]).shape }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        guard let planned = try? plan(inputs[0].shape, inputs[1].shape) else { return }
        let (batch, m, k, n) = (planned.batch, planned.m, planned.k, planned.n)
        let (a, b, y) = (inputs[0], inputs[1], output.pointer)
        let count = batch.reduce(1, *)
        guard count > 0, m > 0, n > 0 else { return }
        guard k > 0 else { return y.update(repeating: 0, count: count * m * n) }
        // Element strides of each operand's matrices along the broadcast batch axes (0 where it
        // broadcasts).
        let sa = Broadcast.strides(of: Array(a.shape.dropLast(2)), rank: batch.count, unit: m * k)
        let sb = Broadcast.strides(of: Array(b.shape.dropLast(2)), rank: batch.count, unit: k * n)
        // A stack of A's matrices against one B is one product of (batch x M) rows.
        if sb.allSatisfy({ $0 == 0 }) && isContiguous(sa, batch, m * k) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count * m), Int32(n), Int32(k), 1,
                        a.pointer, Int32(k), b.pointer, Int32(n), 0, y, Int32(n))
            return
        }
        Broadcast.walk(batch, sa, sb) { matrix, oa, ob in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                        a.pointer + oa, Int32(k), b.pointer + ob, Int32(n), 0, y + matrix * m * n, Int32(n))
        }
    }

    /// True when the strides walk every matrix of a dense stack in order (no broadcasting).
    private func isContiguous(_ strides: [Int], _ batch: [Int], _ matrix: Int) -> Bool {
        var step = matrix
        for axis in stride(from: batch.count - 1, through: 0, by: -1) {
            guard strides[axis] == step || batch[axis] == 1 else { return false }
            step *= batch[axis]
        }
        return true
    }
}
