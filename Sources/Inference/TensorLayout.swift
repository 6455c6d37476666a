import CDNNL

/// How a tensor's values are ordered in memory.
///
/// ONNX defines every tensor in row-major order (NCHW for images), and graph inputs and outputs
/// stay so. oneDNN's convolutions run fastest on orders that put channels side by side, so the
/// planner lets each convolution choose, keeps a 4-D tensor in the order its producer wrote for
/// as long as its readers accept it, and converts only where one does not. Every order is
/// described the same way: `[N][C / lanes][H][W][lanes]`, where `lanes` channels sit together
/// at each pixel (1 for NCHW, all of them for NHWC, 8 or 16 for oneDNN's blocked orders).
enum TensorLayout: Hashable, Sendable, CustomStringConvertible {
    case rowMajor
    case nhwc
    /// nChw8c or nChw16c; only for channel counts that the block divides.
    case blocked(Int)

    /// How many channels sit side by side at each pixel of a 4-D tensor with `channels`.
    func lanes(channels: Int) -> Int {
        switch self {
        case .rowMajor: 1
        case .nhwc: channels
        case .blocked(let block): block
        }
    }

    /// True when both put a tensor of `channels` in the same order: one block of all the
    /// channels is NHWC, and one channel is NCHW in every layout.
    func sameOrder(as other: TensorLayout, channels: Int) -> Bool {
        lanes(channels: channels) == other.lanes(channels: channels)
    }

    init?(_ format: cdnnl_format) {
        switch format {
        case CDNNL_NCHW: self = .rowMajor
        case CDNNL_NHWC: self = .nhwc
        case CDNNL_NCHW8C: self = .blocked(8)
        case CDNNL_NCHW16C: self = .blocked(16)
        default: return nil
        }
    }

    var format: cdnnl_format {
        switch self {
        case .rowMajor: CDNNL_NCHW
        case .nhwc: CDNNL_NHWC
        case .blocked(8): CDNNL_NCHW8C
        case .blocked(16): CDNNL_NCHW16C
        case .blocked(let block): preconditionFailure("oneDNN has no nChw\(block)c layout here")
        }
    }

    var description: String {
        switch self {
        case .rowMajor: "NCHW"
        case .nhwc: "NHWC"
        case .blocked(let block): "nChw\(block)c"
        }
    }
}

/// A 4-D tensor seen as `planes` of `height x width` pixels with `lanes` values each: the view
/// that pooling, resizing and concatenation share across layouts.
struct PlaneView {
    let planes: Int
    let lanes: Int
    let height: Int
    let width: Int

    init(_ tensor: TensorRef) {
        let (n, c) = (tensor.shape[0], tensor.shape[1])
        lanes = tensor.layout.lanes(channels: c)
        precondition(c % lanes == 0, "\(tensor.layout) does not fit \(c) channels")
        planes = n * c / lanes
        height = tensor.shape[2]
        width = tensor.shape[3]
    }

    var planeSize: Int { height * width * lanes }
}

/// Copies a tensor into another layout: the planner's bridge between an op that wrote one
/// order and a reader that needs another.
struct LayoutConversion: Operator {
    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] { shapes[0] }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let x = inputs[0]
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let from = x.layout.lanes(channels: c), to = output.layout.lanes(channels: c)
        precondition(c % from == 0 && c % to == 0, "\(x.layout) or \(output.layout) does not fit \(c) channels")
        let pixels = h * w
        // A tile of pixels at a time, all channels: both sides stay in cache however far apart
        // a layout puts one channel's pixels.
        let tile = 64
        let tiles = (pixels + tile - 1) / tile
        // Between two layouts that both keep runs of 8 or 16 channels of a pixel together (NHWC,
        // nChw8c, nChw16c), whole runs move at once; value by value this was 0.6 to 0.8 ms for
        // a 64 x 128 x 64 map (bench/zoo's fpn and groupnet convert several).
        let run = min(from, to)
        if (run == 16 || run == 8) && from % run == 0 && to % run == 0 {
            let (fromBlocks, toBlocks) = (from / run, to / run)
            parallelFor(n * tiles, threads: threads) { task in
                let (image, first) = task.quotientAndRemainder(dividingBy: tiles)
                let base = image &* c &* pixels
                for pixel in (first &* tile)..<min(pixels, (first &+ 1) &* tile) {
                    for block in 0..<(c / run) {
                        // Run `block` of a pixel: its layout block, then its place inside it.
                        let (sourceBlock, sourceRun) = block.quotientAndRemainder(dividingBy: fromBlocks)
                        let (targetBlock, targetRun) = block.quotientAndRemainder(dividingBy: toBlocks)
                        let source = x.pointer + (base &+ (sourceBlock &* pixels &+ pixel) &* from &+ sourceRun &* run)
                        let target = output.pointer + (base &+ (targetBlock &* pixels &+ pixel) &* to &+ targetRun &* run)
                        if run == 16 {
                            UnsafeMutableRawPointer(target).storeBytes(
                                of: UnsafeRawPointer(source).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                        } else {
                            UnsafeMutableRawPointer(target).storeBytes(
                                of: UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                        }
                    }
                }
            }
            return
        }
        parallelFor(n * tiles, threads: threads) { task in
            let (image, first) = task.quotientAndRemainder(dividingBy: tiles)
            let range = (first * tile)..<min(pixels, (first + 1) * tile)
            for channel in 0..<c {
                // Channel `channel` of pixel p sits at offset + p * lanes in a layout.
                let source = x.pointer + (image * c + channel / from * from) * pixels + channel % from
                let target = output.pointer + (image * c + channel / to * to) * pixels + channel % to
                for pixel in range { target[pixel * to] = source[pixel * from] }
            }
        }
    }
}
