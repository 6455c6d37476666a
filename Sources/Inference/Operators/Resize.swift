import Foundation

/// Resize (opset 10 and later) and Upsample (opsets 7 to 9) of the two spatial axes of NCHW,
/// nearest or linear, with ONNX's coordinate transformations.
struct Resize: Operator {
    enum Mode: String, Sendable { case nearest, linear }

    let mode: Mode
    /// half_pixel, pytorch_half_pixel, align_corners or asymmetric.
    let transformation: String
    /// round_prefer_floor, round_prefer_ceil, floor or ceil.
    let nearestMode: String
    let scales: [Float]?
    let sizes: [Int]?
    let label: String

    init(_ node: NodeContext) throws {
        try node.allowOnly(["mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
                            "extrapolation_value", "scales"])
        guard let mode = Mode(rawValue: node.string("mode", default: "nearest")) else {
            throw node.error(.unsupported, "mode '\(node.string("mode", default: ""))' is not supported; use nearest or linear")
        }
        self.mode = mode
        guard node.int("exclude_outside", default: 0) == 0 else { throw node.error(.unsupported, "exclude_outside is not supported") }
        if node.proto.opType == "Upsample" {
            transformation = "asymmetric"
            nearestMode = "floor"
            scales = node.opset >= 9 ? try node.constant(1, "scales")?.floats : node.floats("scales")
            sizes = nil
        } else if node.opset == 10 {
            transformation = "asymmetric"
            nearestMode = "floor"
            scales = try node.constant(1, "scales")?.floats
            sizes = nil
        } else {
            transformation = node.string("coordinate_transformation_mode", default: "half_pixel")
            nearestMode = node.string("nearest_mode", default: "round_prefer_floor")
            let scales = try node.constant(2, "scales")?.floats
            self.scales = scales?.isEmpty == true ? nil : scales
            sizes = try node.constantInts(3, "sizes")
        }
        guard ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"].contains(transformation) else {
            throw node.error(.unsupported, "coordinate_transformation_mode '\(transformation)' is not supported")
        }
        guard ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].contains(nearestMode) else {
            throw node.error(.unsupported, "nearest_mode '\(nearestMode)' is not supported")
        }
        guard scales != nil || sizes != nil else { throw node.error(.malformedModel, "neither scales nor sizes is given") }
        guard scales?.allSatisfy({ $0.isFinite && $0 > 0 }) ?? true, sizes?.allSatisfy({ $0 >= 0 }) ?? true else {
            throw node.error(.malformedModel, "scales must be finite and positive and sizes not negative (scales \(scales.map { "\($0)" } ?? "none"), sizes \(sizes.map { "\($0)" } ?? "none"))")
        }
        label = node.label
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        let input = shapes[0]
        guard input.count == 4 else { throw InferenceError(.unsupported, "only NCHW inputs are supported, not \(input)", node: label) }
        if let sizes {
            guard sizes.count == 4, sizes[0] == input[0], sizes[1] == input[1] else {
                throw InferenceError(.unsupported, "sizes \(sizes) must keep N and C of \(input)", node: label)
            }
            return sizes
        }
        let scales = self.scales!
        guard scales.count == 4, scales[0] == 1, scales[1] == 1 else {
            throw InferenceError(.unsupported, "scales \(scales) must be 1 for N and C", node: label)
        }
        guard let height = Int(exactly: (Float(input[2]) * scales[2]).rounded(.down)),
              let width = Int(exactly: (Float(input[3]) * scales[3]).rounded(.down)) else {
            throw InferenceError(.shapeMismatch, "scales \(scales) make an output too large for \(input)", node: label)
        }
        return [input[0], input[1], height, width]
    }

    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts { sameLayout(offered: offered, shapes: shapes) }

    /// The source coordinate of output index `x` on an axis.
    private func source(_ x: Int, input: Int, output: Int, scale: Float) -> Float {
        switch transformation {
        case "align_corners": return output == 1 ? 0 : Float(x) * Float(input - 1) / Float(output - 1)
        case "asymmetric": return Float(x) / scale
        case "pytorch_half_pixel": return output > 1 ? (Float(x) + 0.5) / scale - 0.5 : 0
        default: return (Float(x) + 0.5) / scale - 0.5
        }
    }

    private func nearest(_ position: Float, _ size: Int) -> Int {
        let index: Float
        switch nearestMode {
        case "floor": index = position.rounded(.down)
        case "ceil": index = position.rounded(.up)
        case "round_prefer_ceil": index = position.rounded(.toNearestOrAwayFromZero)
        default: index = position == position.rounded(.down) + 0.5 ? position.rounded(.down) : position.rounded()
        }
        return min(max(Int(index), 0), size - 1)
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        let x = inputs[0]
        let (inH, inW, outH, outW) = (x.shape[2], x.shape[3], output.shape[2], output.shape[3])
        let scaleH = sizes != nil ? Float(outH) / Float(inH) : scales![2]
        let scaleW = sizes != nil ? Float(outW) / Float(inW) : scales![3]
        typealias Tap = (Int, Int, Float)
        func taps(_ count: Int, _ input: Int, _ scale: Float) -> [Tap] {
            (0..<count).map { index in
                let position = source(index, input: input, output: count, scale: scale)
                if mode == .nearest { return (nearest(position, input), 0, 0) }
                let clamped = min(max(position, 0), Float(input - 1))
                let low = Int(clamped.rounded(.down))
                return (low, min(low + 1, input - 1), clamped - Float(low))
            }
        }
        let rows = taps(outH, inH, scaleH), columns = taps(outW, inW, scaleW)
        let view = PlaneView(x), lanes = view.lanes, span = outW * lanes
        // One pixel's lanes, a * (1 - f) + b * f: the 8 or 16 channels of a blocked layout as one
        // vector. Each lane's arithmetic is the scalar loop's, so the values are the same bits.
        @inline(__always) func pixel(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ f: Float,
                                     _ out: UnsafeMutablePointer<Float>) {
            switch lanes {
            case 16:
                let va = UnsafeRawPointer(a).loadUnaligned(as: SIMD16<Float>.self)
                let vb = UnsafeRawPointer(b).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(out).storeBytes(of: va * (1 - f) + vb * f, as: SIMD16<Float>.self)
            case 8:
                let va = UnsafeRawPointer(a).loadUnaligned(as: SIMD8<Float>.self)
                let vb = UnsafeRawPointer(b).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(out).storeBytes(of: va * (1 - f) + vb * f, as: SIMD8<Float>.self)
            default:
                for lane in 0..<lanes { out[lane] = a[lane] * (1 - f) + b[lane] * f }
            }
        }
        // Blocks of output rows: consecutive rows of an upsampling read the same two source
        // rows, so each block interpolates a source row across once and keeps it while it lasts.
        let block = 16, blocks = (outH + block - 1) / block
        rows.withUnsafeBufferPointer { rows in
            columns.withUnsafeBufferPointer { columns in
                parallelFor(view.planes * blocks, threads: threads) { job in
                    let (plane, first) = job.quotientAndRemainder(dividingBy: blocks)
                    let src = x.pointer + plane * view.planeSize
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * span)
                    defer { scratch.deallocate() }
                    var held = (-1, -1)  // the source rows in scratch's two halves
                    // Source row y interpolated across, in the half that does not hold `keep`.
                    func across(_ y: Int, keeping keep: Int) -> UnsafeMutablePointer<Float> {
                        if held.0 == y { return scratch }
                        if held.1 == y { return scratch + span }
                        let half = held.0 == keep ? 1 : 0
                        if half == 0 { held.0 = y } else { held.1 = y }
                        let h = scratch + half * span, line = src + y * inW * lanes
                        for ox in 0..<outW {
                            let (x0, x1, fx) = columns[ox]
                            let a = line + x0 * lanes, b = line + x1 * lanes, out = h + ox * lanes
                            pixel(a, b, fx, out)
                        }
                        return h
                    }
                    for oy in first * block..<min(outH, first * block + block) {
                        let dst = output.pointer + (plane * outH + oy) * span
                        let (y0, y1, fy) = rows[oy]
                        if mode == .nearest {
                            let line = src + y0 * inW * lanes
                            for ox in 0..<outW { (dst + ox * lanes).update(from: line + columns[ox].0 * lanes, count: lanes) }
                            continue
                        }
                        let top = across(y0, keeping: y1), bottom = across(y1, keeping: y0)
                        var i = 0
                        while i + 16 <= span {  // rows are contiguous whatever the layout
                            let t = UnsafeRawPointer(top + i).loadUnaligned(as: SIMD16<Float>.self)
                            let b = UnsafeRawPointer(bottom + i).loadUnaligned(as: SIMD16<Float>.self)
                            UnsafeMutableRawPointer(dst + i).storeBytes(of: t * (1 - fy) + b * fy, as: SIMD16<Float>.self)
                            i += 16
                        }
                        while i < span { dst[i] = top[i] * (1 - fy) + bottom[i] * fy; i += 1 }
                    }
                }
            }
        }
    }
}
