/// A per-pixel class map: each byte indexes `classes`.
public struct Mask: Sendable, Hashable {
    public let width: Int
    public let height: Int
    /// Class index per pixel, row-major.
    public var labels: [UInt8]
    /// Class names, indexed by label.
    public let classes: [String]

    public init(width: Int, height: Int, labels: [UInt8], classes: [String]) {
        precondition(labels.count == width * height,
                     "\(labels.count) labels do not fill a \(width)x\(height) mask")
        self.width = width
        self.height = height
        self.labels = labels
        self.classes = classes
    }

    @inlinable
    public subscript(x: Int, y: Int) -> UInt8 { labels[y * width + x] }
}
