/// MaxPool and AveragePool over 2-D windows.
struct Pooling: Operator {
    enum Kind: Sendable { case max, average }

    let kind: Kind
    let window: Window2D
    let countIncludePad: Bool
    let label: String

    init(_ node: NodeContext, kind: Kind) throws {
        try node.allowOnly(["kernel_shape", "strides", "pads", "dilations", "auto_pad", "ceil_mode", "count_include_pad", "storage_order"])
        guard let kernel = node.ints("kernel_shape"), kernel.count == 2 else {
            throw node.error(.unsupported, "only 2-D pooling is supported (kernel_shape must have 2 values)")
        }
        guard node.int("storage_order", default: 0) == 0, node.proto.output.count == 1 else {
            throw node.error(.unsupported, "MaxPool's Indices output and storage_order are not supported")
        }
        self.kind = kind
        window = try Window2D(node, kernel: (kernel[0], kernel[1]))
        countIncludePad = node.int("count_include_pad", default: 0) != 0
        label = node.label
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        let x = shapes[0]
        guard x.count == 4 else { throw InferenceError(.shapeMismatch, "input shape \(x) is not NCHW", node: label) }
        let (h, w, _) = window.output(height: x[2], width: x[3])
        return [x[0], x[1], h, w]
    }

    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts { sameLayout(offered: offered, shapes: shapes) }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let x = inputs[0], view = PlaneView(x), lanes = view.lanes
        let (inH, inW) = (view.height, view.width)
        let (outH, outW, pads) = window.output(height: inH, width: inW)
        let (kh, kw) = window.kernel, (sh, sw) = window.strides, (dh, dw) = window.dilations
        if kind == .max && (kh, kw, sh, sw, dh, dw) == (2, 2, 2, 2, 1, 1) && pads.0 == 0 && pads.1 == 0
            && outH * 2 <= inH && outW * 2 <= inW {
            maxPool2x2(x.pointer, output.pointer, view: view, outH: outH, outW: outW, threads: threads)
            return
        }
        parallelFor(view.planes * outH, threads: threads) { row in
            let (plane, oy) = row.quotientAndRemainder(dividingBy: outH)
            let source = x.pointer + plane * view.planeSize
            let target = output.pointer + (plane * outH + oy) * outW * lanes
            for ox in 0..<outW {
                let out = target + ox * lanes
                out.update(repeating: kind == .max ? -.infinity : 0, count: lanes)
                var counted = 0
                for ki in 0..<kh {
                    let y = oy * sh - pads.0 + ki * dh
                    for kj in 0..<kw {
                        let xIndex = ox * sw - pads.1 + kj * dw
                        guard y >= 0 && y < inH && xIndex >= 0 && xIndex < inW else {
                            // A pad position counts only while it is inside the padded input.
                            if y < inH + pads.2 && xIndex < inW + pads.3 { counted += countIncludePad ? 1 : 0 }
                            continue
                        }
                        let pixel = source + (y * inW + xIndex) * lanes
                        if kind == .max {
                            for lane in 0..<lanes { out[lane] = max(out[lane], pixel[lane]) }
                        } else {
                            for lane in 0..<lanes { out[lane] += pixel[lane] }
                        }
                        counted += 1
                    }
                }
                if kind == .average {
                    let divisor = Float(max(counted, 1))
                    for lane in 0..<lanes { out[lane] /= divisor }
                }
            }
        }
    }
}

extension Pooling {
    /// MaxPool with a 2 x 2 window, stride 2, no pads, every window inside the input: the
    /// encoder's downsampling in U-Nets. Each output takes its four inputs in the general loop's
    /// order (from -inf, row by row), so the values and NaN handling are the same; without the
    /// per-tap bounds checks it is several times faster.
    fileprivate func maxPool2x2(_ source: UnsafeMutablePointer<Float>, _ target: UnsafeMutablePointer<Float>,
                                view: PlaneView, outH: Int, outW: Int, threads: Int) {
        let lanes = view.lanes, inW = view.width
        parallelFor(view.planes * outH, threads: threads) { row in
            let (plane, oy) = row.quotientAndRemainder(dividingBy: outH)
            let rowLength: Int = inW &* lanes
            let first: Int = plane &* view.planeSize &+ 2 &* oy &* rowLength
            let top = source + first, bottom = top + rowLength
            let out = target + ((plane &* outH &+ oy) &* outW &* lanes as Int)
            for ox in 0..<outW {
                let a = top + 2 &* ox &* lanes, c = bottom + 2 &* ox &* lanes
                let o = out + ox &* lanes
                for lane in 0..<lanes {
                    var best = -Float.infinity
                    best = max(best, a[lane])
                    best = max(best, a[lanes &+ lane])
                    best = max(best, c[lane])
                    o[lane] = max(best, c[lanes &+ lane])
                }
            }
        }
    }
}

/// GlobalAveragePool and GlobalMaxPool: one value per image and channel, over every spatial
/// position (any number of spatial axes).
struct GlobalPooling: Operator {
    let kind: Pooling.Kind
    let label: String

    init(_ node: NodeContext, kind: Pooling.Kind) throws {
        try node.allowOnly([])
        self.kind = kind
        label = node.label
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        let x = shapes[0]
        guard x.count >= 3 else {
            throw InferenceError(.shapeMismatch, "input shape \(x) has no spatial axes (it must be N x C x ...)", node: label)
        }
        guard x[2...].allSatisfy({ $0 > 0 }) else {
            throw InferenceError(.shapeMismatch, "input shape \(x) has an empty spatial axis", node: label)
        }
        return [x[0], x[1]] + Array(repeating: 1, count: x.count - 2)
    }

    /// A 4-D input in any layout. The output has one pixel, and with one pixel every layout
    /// whose lanes divide the channels orders the values as NCHW does, so it is written the
    /// same either way and counts as the input's layout.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts { sameLayout(offered: offered, shapes: shapes) }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let x = inputs[0]
        // Row-major tensors of any rank are planes of `pixels` values with one lane.
        let (planes, lanes, pixels): (Int, Int, Int)
        if x.shape.count == 4 {
            let view = PlaneView(x)
            (planes, lanes, pixels) = (view.planes, view.lanes, view.height * view.width)
        } else {
            (planes, lanes, pixels) = (x.shape[0] * x.shape[1], 1, x.shape[2...].reduce(1, *))
        }
        let average = kind == .average
        parallelFor(planes, threads: threads) { plane in
            let source = x.pointer + plane * pixels * lanes
            let target = output.pointer + plane * lanes
            // Sums in double, so that the mean does not depend on the order of the pixels.
            withUnsafeTemporaryAllocation(of: Double.self, capacity: lanes) { sums in
                sums.initialize(repeating: average ? 0 : -.infinity)
                for pixel in 0..<pixels {
                    let values = source + pixel * lanes
                    if average {
                        for lane in 0..<lanes { sums[lane] += Double(values[lane]) }
                    } else {
                        for lane in 0..<lanes { sums[lane] = max(sums[lane], Double(values[lane])) }
                    }
                }
                for lane in 0..<lanes { target[lane] = Float(average ? sums[lane] / Double(pixels) : sums[lane]) }
            }
        }
    }
}
