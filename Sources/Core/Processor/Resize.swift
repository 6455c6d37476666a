/// How `resize` samples the source image.
public enum ResizeFilter: String, CaseIterable, Sendable {
    /// Each output pixel takes the source pixel under its centre.
    case nearest
    /// Each output pixel blends the four source pixels around its centre.
    case bilinear
    /// Each output pixel is the mean of the source area it covers, weighted by overlap: the
    /// filter for shrinking, which keeps thin cracks that the others skip.
    case area
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
/// - area averages the source span `[x * in / out, (x + 1) * in / out)`, each source pixel
///   weighted by its overlap, in a horizontal then a vertical pass in Double, rounded half up
///   (as OpenCV's INTER_AREA when shrinking; `experiment/gradeline_experiment/preprocess.py`
///   has the same arithmetic).
/// Bilinear and nearest do not antialias: shrinking by more than 2x skips source pixels.
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
        case .area: return area(image, width: width, height: height)
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

    /// The source indices each output index covers, and their weights (overlap / span).
    static func areaTaps(from source: Int, to target: Int) -> (indices: [Int], weights: [Double], taps: Int) {
        let scale = Double(source) / Double(target)
        let taps = Int(scale.rounded(.up)) + 1
        var indices = [Int](repeating: 0, count: target * taps)
        var weights = [Double](repeating: 0, count: target * taps)
        for output in 0..<target {
            let start = Double(output) * scale, end = start + scale
            let first = Int(start.rounded(.down))
            for k in 0..<taps {
                let index = first + k
                let overlap = min(end, Double(index + 1)) - max(start, Double(index))
                indices[output * taps + k] = min(index, source - 1)
                weights[output * taps + k] = overlap > 0 && index < source ? overlap / scale : 0
            }
        }
        return (indices, weights, taps)
    }

    private static func area(_ image: Image, width: Int, height: Int) -> Image {
        let channels = image.channels
        let columns = areaTaps(from: image.width, to: width)
        let rows = areaTaps(from: image.height, to: height)
        // Each sum runs tap by tap in the same order as the Python reference (0 + tap 0 + tap 1
        // + ...), so that the result is bit-identical; unsafe buffers only take the bounds checks
        // out of the inner loops. Output row by output row: the horizontal pass narrows each
        // source row the row needs into a small ring of rows, where the next output row finds it
        // again, instead of into a whole narrowed image (8.8 MB of Doubles for a 720 x 1440 photo).
        // A span's last tap may not reach into its last source pixel (weight 0): skipping it adds
        // nothing but + 0 to a sum of non-negative terms, which leaves the sum's bits as they are.
        let columnTaps = usedTaps(columns), rowTaps = usedTaps(rows)
        let rowLength = width * channels
        // One output row's taps are consecutive source rows, so a ring one longer than the taps
        // holds them all at once; the next output row finds the rows they share still there.
        let ring = rows.taps + 1
        var narrowed = [Double](repeating: 0, count: ring * rowLength)
        var held = [Int](repeating: -1, count: ring)  // which source row each ring slot holds
        var accumulator = [Double](repeating: 0, count: rowLength)
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        image.pixels.withUnsafeBufferPointer { source in
            narrowed.withUnsafeMutableBufferPointer { narrowed in
                accumulator.withUnsafeMutableBufferPointer { accumulator in
                    pixels.withUnsafeMutableBufferPointer { pixels in
                        for y in 0..<height {
                            for i in 0..<rowLength { accumulator[i] = 0 }
                            for k in 0..<rowTaps[y] {
                                let weight = rows.weights[y * rows.taps + k]
                                let sourceRow = rows.indices[y * rows.taps + k]
                                let slot = sourceRow % ring
                                let line = narrowed.baseAddress! + slot * rowLength
                                if held[slot] != sourceRow {
                                    narrow(source, row: sourceRow, sourceWidth: image.width, channels: channels,
                                           columns: columns, used: columnTaps, into: line)
                                    held[slot] = sourceRow
                                }
                                for i in 0..<rowLength { accumulator[i] += line[i] * weight }
                            }
                            for i in 0..<rowLength {
                                pixels[y * rowLength + i] = UInt8(min(max((accumulator[i] + 0.5).rounded(.down), 0), 255))
                            }
                        }
                    }
                }
            }
        }
        return Image(width: width, height: height, format: image.format, pixels: pixels)
    }

    /// How many of each output index's taps to use: up to its last tap of non-zero weight.
    static func usedTaps(_ taps: (indices: [Int], weights: [Double], taps: Int)) -> [Int] {
        (0..<(taps.weights.count / max(taps.taps, 1))).map { output in
            (0..<taps.taps).last { taps.weights[output * taps.taps + $0] != 0 }.map { $0 + 1 } ?? 0
        }
    }

    /// The horizontal pass of `area` for one source row: `columns.indices.count / columns.taps`
    /// pixels into `out`, each from its first `used[x]` taps.
    private static func narrow(_ source: UnsafeBufferPointer<UInt8>, row: Int, sourceWidth: Int, channels: Int,
                               columns: (indices: [Int], weights: [Double], taps: Int), used: [Int],
                               into out: UnsafeMutablePointer<Double>) {
        let taps = columns.taps, width = columns.indices.count / taps
        let start = row * sourceWidth
        columns.weights.withUnsafeBufferPointer { weights in
            columns.indices.withUnsafeBufferPointer { indices in
                for x in 0..<width {
                    let o = x * channels
                    if channels == 3 {
                        // RGB in registers: the same sums in the same order as adding into `out`,
                        // without a store and a load per tap.
                        var (r, g, b) = (0.0, 0.0, 0.0)
                        for k in 0..<used[x] {
                            let weight = weights[x &* taps &+ k]
                            let s = (start &+ indices[x &* taps &+ k]) &* 3
                            r += Double(source[s]) * weight
                            g += Double(source[s &+ 1]) * weight
                            b += Double(source[s &+ 2]) * weight
                        }
                        (out[o], out[o + 1], out[o + 2]) = (r, g, b)
                    } else {
                        for c in 0..<channels { out[o + c] = 0 }
                        for k in 0..<used[x] {
                            let weight = weights[x &* taps &+ k]
                            let s = (start &+ indices[x &* taps &+ k]) &* channels
                            for c in 0..<channels { out[o + c] += Double(source[s + c]) * weight }
                        }
                    }
                }
            }
        }
    }
}
