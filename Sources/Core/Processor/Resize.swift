/// How `resize` samples the source image.
public enum ResizeFilter: String, CaseIterable, Sendable {
    /// Each output pixel takes the source pixel under its centre.
    case nearest
    /// Each output pixel blends the four source pixels around its centre.
    case bilinear
}

/// `resize`: resizes each side's image to a fixed width and height.
///
/// Pixel centres sit at half-integers (the convention of OpenCV's INTER_LINEAR, PyTorch's
/// `align_corners=False` and ONNX's `half_pixel`): output pixel `x` maps to source coordinate
/// `(x + 0.5) * inWidth / outWidth - 0.5`.
/// - bilinear clamps that coordinate to `[0, inWidth - 1]`, blends the two neighbours on each
///   axis, and rounds half up;
/// - nearest takes source pixel `floor((x + 0.5) * inWidth / outWidth)`, the one whose area
///   holds the output pixel's centre.
/// There is no antialiasing: shrinking by more than 2x skips source pixels.
public struct Resize: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "resize", module: .processor,
        summary: "Resizes each side's image to width x height, bilinear or nearest.")

    let input: ArtifactKey<Sided<Image>>
    let output: ArtifactKey<Sided<Image>>
    let width: Int
    let height: Int
    let filter: ResizeFilter

    public init(configuring step: inout StepBuilder) {
        input = step.input("image", Sided<Image>.self, default: "image")
        output = step.output("image", Sided<Image>.self, default: "resized")
        width = step.params.int("width", in: 1...16_384)
        height = step.params.int("height", in: 1...16_384)
        filter = step.params.choice("filter", default: ResizeFilter.bilinear)
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        request[output] = try request.require(input).map { _, image in
            Self.resize(image, width: width, height: height, filter: filter)
        }
        return .ok
    }

    /// Resizes `image` to `width` x `height`.
    public static func resize(_ image: Image, width: Int, height: Int, filter: ResizeFilter) -> Image {
        if image.width == width && image.height == height { return image }
        switch filter {
        case .nearest: return nearest(image, width: width, height: height)
        case .bilinear: return bilinear(image, width: width, height: height)
        }
    }

    /// The source index under the centre of each output index.
    static func nearestIndices(from source: Int, to target: Int) -> [Int] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { min(Int(((Double($0) + 0.5) * scale).rounded(.down)), source - 1) }
    }

    private static func nearest(_ image: Image, width: Int, height: Int) -> Image {
        let channels = image.channels
        let columns = nearestIndices(from: image.width, to: width)
        let rows = nearestIndices(from: image.height, to: height)
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        image.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { out in
                var o = 0
                for y in 0..<height {
                    let rowStart = rows[y] * image.width
                    for x in 0..<width {
                        let s = (rowStart + columns[x]) * channels
                        for c in 0..<channels { out[o + c] = source[s + c] }
                        o += channels
                    }
                }
            }
        }
        return Image(width: width, height: height, format: image.format, pixels: pixels)
    }

    /// The two source indices and the weight of the second, for each output index.
    static func linearTaps(from source: Int, to target: Int) -> [(Int, Int, Float)] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { index in
            let position = min(max((Double(index) + 0.5) * scale - 0.5, 0), Double(source - 1))
            let low = Int(position.rounded(.down))
            return (low, min(low + 1, source - 1), Float(position - Double(low)))
        }
    }

    private static func bilinear(_ image: Image, width: Int, height: Int) -> Image {
        let channels = image.channels
        let columns = linearTaps(from: image.width, to: width)
        let rows = linearTaps(from: image.height, to: height)
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        image.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { out in
                var o = 0
                for y in 0..<height {
                    let (y0, y1, fy) = rows[y]
                    let row0 = y0 * image.width, row1 = y1 * image.width
                    for x in 0..<width {
                        let (x0, x1, fx) = columns[x]
                        for c in 0..<channels {
                            let top = Float(source[(row0 + x0) * channels + c]) * (1 - fx)
                                + Float(source[(row0 + x1) * channels + c]) * fx
                            let bottom = Float(source[(row1 + x0) * channels + c]) * (1 - fx)
                                + Float(source[(row1 + x1) * channels + c]) * fx
                            let value = top * (1 - fy) + bottom * fy
                            out[o + c] = UInt8(min(max(value + 0.5, 0), 255))
                        }
                        o += channels
                    }
                }
            }
        }
        return Image(width: width, height: height, format: image.format, pixels: pixels)
    }
}
