/// A dense float32 tensor in row-major order; images become NCHW with one batch entry per side.
public struct Tensor: Sendable, Hashable {
    public let shape: [Int]
    public var data: [Float]
    /// The side of each batch entry, when the first dimension is a batch of sides.
    public var sides: [Side]

    public init(shape: [Int], data: [Float], sides: [Side] = []) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor dimensions are not negative")
        precondition(data.count == shape.reduce(1, *),
                     "\(data.count) values do not fill a tensor of shape \(shape)")
        precondition(sides.isEmpty || sides.count == shape.first,
                     "\(sides.count) sides label a batch of \(shape.first ?? 0)")
        self.shape = shape
        self.data = data
        self.sides = sides
    }

    public var count: Int { data.count }
}
