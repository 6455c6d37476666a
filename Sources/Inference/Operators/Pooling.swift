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
        if (kh, kw, sh, sw, dh, dw) == (2, 2, 2, 2, 1, 1) && pads.0 == 0 && pads.1 == 0
            && outH * 2 <= inH && outW * 2 <= inW {
            pool2x2(x.pointer, output.pointer, view: view, outH: outH, outW: outW, threads: threads)
            return
        }
        parallelFor(view.planes * outH, threads: threads) { row in
            let (plane, oy) = row.quotientAndRemainder(dividingBy: outH)
            let source = x.pointer + plane * view.planeSize
            let target = output.pointer + (plane * outH + oy) * outW * lanes
            // The taps inside the input form a range on each axis, so the loops below need no
            // per-tap bounds check. Taps go in the same order as before (row by row, from -inf
            // or 0), so the values are the same bits. A pad tap counts only while it is inside
            // the padded input.
            let rows = Self.taps(start: oy * sh - pads.0, step: dh, count: kh, size: inH, padEnd: pads.2)
            for ox in 0..<outW {
                let columns = Self.taps(start: ox * sw - pads.1, step: dw, count: kw, size: inW, padEnd: pads.3)
                let out = target + ox * lanes
                let divisor = kind == .max ? 1
                    : Float(max(countIncludePad ? rows.padded * columns.padded : rows.inside.count * columns.inside.count, 1))
                // In nChw16c (the AVX-512 kernels' layout), a pixel's 16 channels as one vector:
                // deeplab's and resnet18's 3 x 3 stride-2 stem MaxPool took 2.1 ms lane by lane,
                // 0.6 ms so. (Written for SIMD16 alone: a generic version over SIMD8 and SIMD16
                // was not specialized and took 19 ms.)
                if lanes == 16 {
                    poolPixel16(source, base: ((oy * sh - pads.0) * inW + ox * sw - pads.1) * 16, out,
                                rows: rows.inside, columns: columns.inside, rowStep: dh * inW * 16,
                                columnStep: dw * 16, divisor: divisor)
                    continue
                }
                out.update(repeating: kind == .max ? -.infinity : 0, count: lanes)
                for ki in rows.inside {
                    let line = source + ((oy * sh - pads.0 + ki * dh) * inW) * lanes
                    for kj in columns.inside {
                        let pixel = line + (ox * sw - pads.1 + kj * dw) * lanes
                        if kind == .max {
                            for lane in 0..<lanes { out[lane] = max(out[lane], pixel[lane]) }
                        } else {
                            for lane in 0..<lanes { out[lane] += pixel[lane] }
                        }
                    }
                }
                if kind == .average {
                    for lane in 0..<lanes { out[lane] /= divisor }
                }
            }
        }
    }

    /// One output pixel of 16 channels: the taps at `source + base + ki * rowStep + kj *
    /// columnStep` for ki in `rows` and kj in `columns` (`base` alone may point outside the
    /// input when the window starts in the padding), in the lane loop's order, so the same
    /// bits: `max` keeps the tap when it is >= the running value (as `Swift.max` does, NaN
    /// included), and an average adds from 0 and divides once.
    @inline(__always)
    private func poolPixel16(_ source: UnsafeMutablePointer<Float>, base: Int, _ out: UnsafeMutablePointer<Float>,
                             rows: Range<Int>, columns: Range<Int>, rowStep: Int, columnStep: Int, divisor: Float) {
        typealias V = SIMD16<Float>
        let maximum = kind == .max
        var value = V(repeating: maximum ? -.infinity : 0)
        for ki in rows {
            let line = base &+ ki &* rowStep
            for kj in columns {
                let tap = UnsafeRawPointer(source + (line &+ kj &* columnStep)).loadUnaligned(as: V.self)
                if maximum {
                    value.replace(with: tap, where: tap .>= value)
                } else {
                    value += tap
                }
            }
        }
        if !maximum { value /= V(repeating: divisor) }
        UnsafeMutableRawPointer(out).storeBytes(of: value, as: V.self)
    }

    /// The taps `start + k * step` (k in 0..<count) of one axis: the range of k inside
    /// 0..<size, and how many lie before `size + padEnd` (inside the padded input).
    static func taps(start: Int, step: Int, count: Int, size: Int, padEnd: Int) -> (inside: Range<Int>, padded: Int) {
        func below(_ limit: Int) -> Int {  // how many k have start + k * step < limit
            limit <= start ? 0 : min(count, (limit - 1 - start) / step + 1)
        }
        let first = start >= 0 ? 0 : min(count, (-start + step - 1) / step)
        let end = below(size)
        return (first..<max(first, end), below(size + padEnd))
    }
}

extension Pooling {
    /// A 2 x 2 window, stride 2, no pads, every window inside the input: the encoders'
    /// downsampling in U-Nets (MaxPool) and ResNet-D style nets (AveragePool). Each output takes
    /// its four inputs in the general loop's order (from -inf or 0, row by row), so the values
    /// and NaN handling are the same; without the per-tap bounds checks it is several times
    /// faster (groupnet's AveragePool took 7 ms in the general loop).
    fileprivate func pool2x2(_ source: UnsafeMutablePointer<Float>, _ target: UnsafeMutablePointer<Float>,
                             view: PlaneView, outH: Int, outW: Int, threads: Int) {
        let lanes = view.lanes, inW = view.width, maximum = kind == .max
        parallelFor(view.planes * outH, threads: threads) { row in
            let (plane, oy) = row.quotientAndRemainder(dividingBy: outH)
            let rowLength: Int = inW &* lanes
            let first: Int = plane &* view.planeSize &+ 2 &* oy &* rowLength
            let top = source + first, bottom = top + rowLength
            let out = target + ((plane &* outH &+ oy) &* outW &* lanes as Int)
            for ox in 0..<outW {
                let a = top + 2 &* ox &* lanes, c = bottom + 2 &* ox &* lanes
                let o = out + ox &* lanes
                if maximum {
                    for lane in 0..<lanes {
                        var best = -Float.infinity
                        best = max(best, a[lane])
                        best = max(best, a[lanes &+ lane])
                        best = max(best, c[lane])
                        o[lane] = max(best, c[lanes &+ lane])
                    }
                } else {
                    for lane in 0..<lanes {
                        var sum: Float = 0
                        sum += a[lane]
                        sum += a[lanes &+ lane]
                        sum += c[lane]
                        o[lane] = (sum + c[lanes &+ lane]) / 4
                    }
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
