/// A dense float32 array in row-major order.
public struct NDArray: Sendable, Hashable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(data.count == shape.reduce(1, *), "\(data.count) values do not fill shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
}

/// The largest `|a[i] - b[i]|`, for comparing outputs with reference values.
///
/// Unlike `zip(a, b).map { abs($0 - $1) }.max()`, which skips a NaN anywhere but first, this
/// returns NaN when any difference is NaN, so a test's `worst <= tolerance` fails on it. Arrays
/// of different lengths give infinity rather than a comparison of the shorter prefix.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var worst: Float = 0
    for (x, y) in zip(a, b) {
        let difference = abs(x - y)
        if difference.isNaN { return .nan }
        worst = max(worst, difference)
    }
    return worst
}
