/// Broadcasting two operands as ONNX (and numpy) define it: shapes aligned at their last axis,
/// and an axis of length 1 repeated to the other operand's length.
enum Broadcast {
    /// The shape `a` and `b` broadcast to, or nil when an axis differs and neither is 1.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let pa = padded(a, to: rank), pb = padded(b, to: rank)
        var shape: [Int] = []
        for (x, y) in zip(pa, pb) {
            guard x == y || x == 1 || y == 1 else { return nil }
            shape.append(max(x, y))
        }
        return shape
    }

    /// The steps, in `unit`s of elements, that an operand of `shape` takes along each axis of a
    /// result of rank `rank`: 0 where it broadcasts.
    static func strides(of shape: [Int], rank: Int, unit: Int = 1) -> [Int] {
        let padded = padded(shape, to: rank)
        var strides = [Int](repeating: 0, count: rank)
        var step = unit
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            strides[axis] = padded[axis] == 1 ? 0 : step
            step *= padded[axis]
        }
        return strides
    }

    /// Calls `body(i, offsetA, offsetB)` for every position `i` of a result of `shape`, in
    /// row-major order, with the offsets into each operand that `stridesA` and `stridesB` give.
    @inline(__always)
    static func walk(_ shape: [Int], _ stridesA: [Int], _ stridesB: [Int], _ body: (Int, Int, Int) -> Void) {
        let rank = shape.count, count = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: rank)
        var (oa, ob) = (0, 0)
        for i in 0..<count {
            body(i, oa, ob)
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                oa += stridesA[axis]
                ob += stridesB[axis]
                if index[axis] < shape[axis] { break }
                oa -= stridesA[axis] * shape[axis]
                ob -= stridesB[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    private static func padded(_ shape: [Int], to rank: Int) -> [Int] {
        Array(repeating: 1, count: rank - shape.count) + shape
    }
}
