import CDNNL
import COpenBLAS
import Synchronization

/// Conv: 2-D convolution with pads, strides, dilations and groups, on oneDNN, or as im2col and
/// SGEMM when oneDNN cannot run a shape.
struct Convolution: Operator {
    private(set) var weights: [Float]      // [Cout, Cin/group, kh, kw]
    private(set) var bias: [Float]?
    let outChannels: Int
    private(set) var inChannelsPerGroup: Int
    let group: Int
    let window: Window2D
    let label: String
    /// Set when the Relu that follows was folded into this convolution's last pass.
    var fusedRelu = false
    /// The bounds of a Clip that follows (ReLU6 is Clip(0, 6)) when it was folded in the same way.
    var fusedClip: ClosedRange<Float>?
    /// Set when the result adds to what the output holds (a part of a ConcatConvolution).
    private(set) var accumulates = false
    private(set) var oneDNN: DNNLKernel

    init(_ node: NodeContext) throws {
        try node.allowOnly(["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"])
        guard case .float(let w)? = try node.constant(1, "weights"), w.shape.count == 4 else {
            throw node.error(.unsupported, "the weights must be a constant 4-D float tensor (2-D convolution)")
        }
        weights = w.data
        outChannels = w.shape[0]
        inChannelsPerGroup = w.shape[1]
        group = node.int("group", default: 1)
        guard group >= 1, outChannels % group == 0 else {
            throw node.error(.malformedModel, "group \(group) does not divide \(outChannels) output channels")
        }
        if let kernel = node.ints("kernel_shape"), kernel != [w.shape[2], w.shape[3]] {
            throw node.error(.malformedModel, "kernel_shape \(kernel) does not match the weights \(w.shape)")
        }
        window = try Window2D(node, kernel: (w.shape[2], w.shape[3]))
        bias = try node.bias(channels: outChannels)
        label = node.label
        oneDNN = DNNLKernel(enabled: node.useOneDNN)
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        let x = shapes[0]
        guard x.count == 4, x[1] == inChannelsPerGroup * group else {
            throw InferenceError(.shapeMismatch, "input shape \(x) does not fit weights with \(inChannelsPerGroup * group) input channels", node: label)
        }
        let (h, w, _) = window.output(height: x[2], width: x[3])
        guard h > 0, w > 0 else {
            throw InferenceError(.shapeMismatch, "input \(x) is smaller than the kernel", node: label)
        }
        return [x[0], outChannels, h, w]
    }

    /// The layouts oneDNN runs this shape fastest on, or row-major for the SGEMM path.
    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts {
        let geometry = geometry(shapes[0])
        if prefersNHWC(offered: offered[0]), let layouts = oneDNN.choose(geometry, exactly: .nhwc, dst: .nhwc) {
            return layouts
        }
        return oneDNN.layouts(geometry)
    }

    /// Grouped convolutions that try NHWC in and out before oneDNN's usual order:
    /// - a depthwise one fed NHWC takes it as it comes. MobileNet's blocks alternate 1x1
    ///   convolutions, which oneDNN plans in NHWC when a channel count fills no block, with
    ///   depthwise ones, which were planned blocked: the two conversions round each depthwise
    ///   step cost more than the step (bench/zoo's mobilenetv2);
    /// - one whose groups fill no 8-channel block has no blocked kernel, and left to choose,
    ///   oneDNN planned it on NCHW with its GEMM kernel (padpool's 48-channel, 8-group one:
    ///   1.6 ms); NHWC has a direct kernel.
    /// Only grouped ones, so that no ungrouped model's plan changes.
    private func prefersNHWC(offered: TensorLayout) -> Bool {
        guard group > 1 else { return false }
        if inChannelsPerGroup == 1 && group == outChannels { return offered == .nhwc }
        return inChannelsPerGroup > 1 && (inChannelsPerGroup % 8 != 0 || (outChannels / group) % 8 != 0)
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        if runOneDNN(inputs[0], output) { return }
        inRowMajor(inputs[0], output, threads: threads, runGEMM)
    }

    /// Runs on oneDNN; false when it cannot.
    func runOneDNN(_ x: TensorRef, _ output: TensorRef) -> Bool {
        oneDNN.run(geometry(x.shape), x, weights, bias, output)
    }

    func kernel(_ inputs: [TensorRef], _ output: TensorRef) -> String? {
        oneDNN.implementation(geometry(inputs[0].shape), inputs[0], output) ?? "im2col + OpenBLAS sgemm"
    }

    /// The layouts of the oneDNN plan chosen for input `shape`, writing `dst` when given, or nil
    /// when oneDNN has no plan for it.
    func oneDNNLayouts(_ shape: [Int], dst: TensorLayout?) -> StepLayouts? {
        oneDNN.choose(geometry(shape), dst: dst)
    }

    /// The convolution of input channels `channels` alone, for a ConcatConvolution: the first
    /// part adds the bias, the later ones add to the output, the last applies the fused Relu.
    func part(channels: Range<Int>, first: Bool, last: Bool) -> Convolution {
        precondition(group == 1, "only ungrouped convolutions split by input channels")
        let (kh, kw) = window.kernel
        var part = self
        let window = kh * kw
        part.weights = []
        for o in 0..<outChannels {
            let start = (o * inChannelsPerGroup + channels.lowerBound) * window
            part.weights += weights[start..<(start + channels.count * window)]
        }
        part.inChannelsPerGroup = channels.count
        part.bias = first ? bias : nil
        part.accumulates = !first
        part.fusedRelu = last && fusedRelu
        part.fusedClip = last ? fusedClip : nil
        part.oneDNN = DNNLKernel(enabled: oneDNN.enabled)
        return part
    }

    private func geometry(_ shape: [Int]) -> cdnnl_conv_geometry {
        let (outH, outW, pads) = window.output(height: shape[2], width: shape[3])
        return cdnnl_conv_geometry(
            batch: Int32(shape[0]), in_channels: Int32(shape[1]), in_h: Int32(shape[2]), in_w: Int32(shape[3]),
            out_channels: Int32(outChannels), out_h: Int32(outH), out_w: Int32(outW),
            kernel_h: Int32(window.kernel.0), kernel_w: Int32(window.kernel.1),
            stride_h: Int32(window.strides.0), stride_w: Int32(window.strides.1),
            dilation_h: Int32(window.dilations.0), dilation_w: Int32(window.dilations.1),
            pad_top: Int32(pads.0), pad_left: Int32(pads.1), pad_bottom: Int32(pads.2), pad_right: Int32(pads.3),
            groups: Int32(group), transposed: 0, has_bias: bias == nil ? 0 : 1,
            winograd: 0, accumulate: accumulates ? 1 : 0, relu: fusedRelu ? 1 : 0,
            clip: fusedClip == nil ? 0 : 1, clip_low: fusedClip?.lowerBound ?? 0, clip_high: fusedClip?.upperBound ?? 0)
    }

    /// im2col and OpenBLAS SGEMM, on row-major tensors: the path when oneDNN cannot run a shape.
    func runGEMM(_ x: TensorRef, _ output: TensorRef) {
        let (batch, inH, inW) = (x.shape[0], x.shape[2], x.shape[3])
        let (outH, outW, pads) = window.output(height: inH, width: inW)
        let (kh, kw) = window.kernel
        let outPerGroup = outChannels / group
        let k = inChannelsPerGroup * kh * kw
        let plane = outH * outW
        let pointwise = kh == 1 && kw == 1 && window.strides == (1, 1) && pads == (0, 0, 0, 0)
        // Columns are built a band of output rows at a time, so the buffer stays near 4 MB.
        let rowsPerBand = pointwise ? outH : max(1, min(outH, (1 << 20) / max(1, k * outW)))
        let column = UnsafeMutablePointer<Float>.allocate(capacity: pointwise ? 1 : k * rowsPerBand * outW)
        defer { column.deallocate() }
        weights.withUnsafeBufferPointer { weights in
            for n in 0..<batch {
                for g in 0..<group {
                    let source = x.pointer + (n * inChannelsPerGroup * group + g * inChannelsPerGroup) * inH * inW
                    let target = output.pointer + (n * outChannels + g * outPerGroup) * plane
                    let a = weights.baseAddress! + g * outPerGroup * k
                    var row = 0
                    while row < outH {
                        let rows = min(rowsPerBand, outH - row)
                        let b: UnsafePointer<Float>
                        if pointwise {
                            b = UnsafePointer(source)
                        } else {
                            im2col(source, inH, inW, pads, row, rows, outW, into: column)
                            b = UnsafePointer(column)
                        }
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outPerGroup), Int32(rows * outW),
                                    Int32(k), 1, a, Int32(k), b, Int32(rows * outW), 0, target + row * outW, Int32(plane))
                        row += rows
                    }
                    // Bias and the fused Relu or Clip in one pass over the output.
                    for c in 0..<outPerGroup where bias != nil || fusedRelu || fusedClip != nil {
                        let value = bias?[g * outPerGroup + c] ?? 0
                        let base = target + c * plane
                        if let clip = fusedClip {
                            // Without a bias nothing is added: -0 + 0 would be +0, and a Clip
                            // below zero keeps a -0 that a standalone Clip keeps.
                            let low = fusedRelu ? max(clip.lowerBound, 0) : clip.lowerBound
                            if bias == nil {
                                for i in 0..<plane { base[i] = min(max(base[i], low), clip.upperBound) }
                            } else {
                                for i in 0..<plane { base[i] = min(max(base[i] + value, low), clip.upperBound) }
                            }
                        } else if fusedRelu {
                            for i in 0..<plane { base[i] = max(base[i] + value, 0) }
                        } else {
                            for i in 0..<plane { base[i] += value }
                        }
                    }
                }
            }
        }
    }

    /// Unfolds rows `firstRow ..< firstRow + rows` of the output's receptive fields into columns.
    private func im2col(_ source: UnsafeMutablePointer<Float>, _ inH: Int, _ inW: Int, _ pads: (Int, Int, Int, Int),
                        _ firstRow: Int, _ rows: Int, _ outW: Int, into column: UnsafeMutablePointer<Float>) {
        let (kh, kw) = window.kernel
        let (sh, sw) = window.strides
        let (dh, dw) = window.dilations
        let width = rows * outW
        var line = column
        for c in 0..<inChannelsPerGroup {
            let channel = source + c * inH * inW
            for ki in 0..<kh {
                for kj in 0..<kw {
                    for r in 0..<rows {
                        let y = (firstRow + r) * sh - pads.0 + ki * dh
                        let out = line + r * outW
                        guard y >= 0 && y < inH else {
                            out.update(repeating: 0, count: outW)
                            continue
                        }
                        let inputRow = channel + y * inW
                        let x0 = kj * dw - pads.1
                        if sw == 1 && x0 >= 0 && x0 + outW <= inW {
                            out.update(from: inputRow + x0, count: outW)
                        } else {
                            for ox in 0..<outW {
                                let x = ox * sw + x0
                                out[ox] = x >= 0 && x < inW ? inputRow[x] : 0
                            }
                        }
                    }
                    line += width
                }
            }
        }
    }
}

/// One oneDNN plan: a convolution for one input shape and pair of layouts.
///
/// - Important: `@unchecked Sendable` is safe here: the plan is immutable after creation, and
///   `cdnnl_conv_run` gives every run its own stream and memory objects, while the scratchpads
///   come from a pool that hands each run its own.
final class DNNLPlan: @unchecked Sendable {
    let pointer: OpaquePointer
    let layouts: StepLayouts
    let scratchpads: ArenaPool

    init?(_ pointer: OpaquePointer) {
        guard let src = TensorLayout(cdnnl_conv_src_format(pointer)), let dst = TensorLayout(cdnnl_conv_dst_format(pointer)) else {
            cdnnl_conv_destroy(pointer)
            return nil
        }
        self.pointer = pointer
        layouts = StepLayouts(inputs: [src], output: dst)
        scratchpads = ArenaPool(sizes: [(cdnnl_conv_scratchpad_size(pointer) + 3) / 4])
    }

    deinit { cdnnl_conv_destroy(pointer) }

    var implementation: String { String(cString: cdnnl_conv_implementation(pointer)) }
}

/// The oneDNN side of Conv and ConvTranspose: the plan is chosen when the graph is planned,
/// and found again at each run by shape and layouts.
///
/// The choice, measured on the damage model (`bench/inference.sh`, AVX-512, oneDNN 2.6): where
/// oneDNN has a Winograd kernel, it runs on 16-channel blocks (nChw16c) and beats the direct
/// kernel by 25-45% on 3x3 convolutions with 32 or more channels in and out, while losing on
/// narrower ones. The direct kernel is as fast on nChw16c as on NHWC, so with Winograd at hand
/// every tensor whose channels fill blocks stays blocked, and no layout conversion sits between
/// the two kinds. Without it (or for odd channel counts), oneDNN picks the layouts.
struct DNNLKernel: Sendable {
    private final class Plans: Sendable {
        /// nil: oneDNN has no plan for that key, so that a run does not ask again.
        let byKey = Mutex<[String: DNNLPlan?]>([:])
    }

    private let plans = Plans()
    /// False when the model was loaded to run on the SGEMM path only: no plan is ever made.
    let enabled: Bool

    init(enabled: Bool = true) { self.enabled = enabled }

    /// The channel block of oneDNN's Winograd kernel on this CPU, or nil when it has none.
    static let winogradBlock: Int? = {
        var probe = cdnnl_conv_geometry(
            batch: 1, in_channels: 64, in_h: 16, in_w: 16, out_channels: 64, out_h: 16, out_w: 16,
            kernel_h: 3, kernel_w: 3, stride_h: 1, stride_w: 1, dilation_h: 1, dilation_w: 1,
            pad_top: 1, pad_left: 1, pad_bottom: 1, pad_right: 1, groups: 1, transposed: 0, has_bias: 0,
            winograd: 1, accumulate: 0, relu: 0, clip: 0, clip_low: 0, clip_high: 0)
        var message = [CChar](repeating: 0, count: 256)
        guard let plan = cdnnl_conv_create(&probe, CDNNL_ANY, CDNNL_ANY, &message, message.count).flatMap(DNNLPlan.init),
              case .blocked(let block) = plan.layouts.output else { return nil }
        return block
    }()

    /// Layouts count by the order they give (a block of all the channels is NHWC), so that a
    /// plan made for one serves the other.
    private func key(_ geometry: cdnnl_conv_geometry, _ src: TensorLayout, _ dst: TensorLayout) -> String {
        let g = geometry
        let lanes = (src.lanes(channels: Int(g.in_channels)), dst.lanes(channels: Int(g.out_channels)))
        return "\(g.batch)x\(g.in_channels)x\(g.in_h)x\(g.in_w), lanes \(lanes.0) to \(lanes.1), \(cdnnl_threads()) threads"
    }

    private func make(_ geometry: cdnnl_conv_geometry, src: TensorLayout?, dst: TensorLayout?) -> DNNLPlan? {
        var message = [CChar](repeating: 0, count: 256)
        var g = geometry
        return cdnnl_conv_create(&g, src?.format ?? CDNNL_ANY, dst?.format ?? CDNNL_ANY, &message, message.count)
            .flatMap(DNNLPlan.init)
    }

    /// Chooses and keeps the plan for this geometry, writing `dst` when given; returns its
    /// layouts, or nil when oneDNN has no plan for it.
    func choose(_ geometry: cdnnl_conv_geometry, dst required: TensorLayout? = nil) -> StepLayouts? {
        guard enabled else { return nil }
        var candidates: [(winograd: Bool, src: TensorLayout?, dst: TensorLayout?)] = []
        if let block = Self.winogradBlock {
            let g = geometry
            let src: TensorLayout? = g.in_channels % Int32(block) == 0 ? .blocked(block) : nil
            let dst: TensorLayout? = required ?? (g.out_channels % Int32(block) == 0 ? .blocked(block) : nil)
            let wide = min(g.in_channels, g.out_channels) >= 32 && g.groups == 1 && g.transposed == 0
            let shape = (g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w) == (3, 3, 1, 1, 1, 1)
            if wide && shape && src != nil && dst == .blocked(block) { candidates.append((true, src, dst)) }
            candidates.append((false, src, dst))
            // One block of channels is NHWC too, which other kernels take.
            func alias(_ layout: TensorLayout?, _ channels: Int32) -> TensorLayout? {
                layout == .blocked(block) && channels == Int32(block) ? .nhwc : layout
            }
            candidates.append((false, alias(src, g.in_channels), alias(dst, g.out_channels)))
        }
        candidates.append((false, nil, required))
        // oneDNN's reference kernels are correct but slow (a 16-to-8 ConvTranspose took 1.1 s
        // on one where OpenBLAS takes milliseconds; bench/zoo.sh's unet8), so they are never
        // chosen: without another oneDNN kernel the step runs on the SGEMM path, which every
        // convolution has.
        for candidate in candidates {
            var g = geometry
            g.winograd = candidate.winograd ? 1 : 0
            guard let plan = make(g, src: candidate.src, dst: candidate.dst), !plan.implementation.hasPrefix("ref") else { continue }
            return keep(plan, geometry)
        }
        return nil
    }

    /// Chooses and keeps the plan reading `src` and writing `dst`, when oneDNN has one that is
    /// not its reference kernel.
    func choose(_ geometry: cdnnl_conv_geometry, exactly src: TensorLayout, dst: TensorLayout) -> StepLayouts? {
        guard enabled, let plan = make(geometry, src: src, dst: dst), !plan.implementation.hasPrefix("ref"),
              plan.layouts.inputs[0] == src, plan.layouts.output == dst else { return nil }
        return keep(plan, geometry)
    }

    private func keep(_ plan: DNNLPlan, _ geometry: cdnnl_conv_geometry) -> StepLayouts {
        plans.byKey.withLock { $0[key(geometry, plan.layouts.inputs[0], plan.layouts.output)] = plan }
        return plan.layouts
    }

    /// The layouts `choose` picks, or row-major (the SGEMM path) when oneDNN has no plan.
    func layouts(_ geometry: cdnnl_conv_geometry) -> StepLayouts {
        choose(geometry) ?? .rowMajor(1)
    }

    /// The name of oneDNN's kernel for `x`'s and `output`'s layouts (`ref:any` is its
    /// reference kernel), or nil when no plan runs them.
    func implementation(_ geometry: cdnnl_conv_geometry, _ x: TensorRef, _ output: TensorRef) -> String? {
        guard enabled, let known = plans.byKey.withLock({ $0[key(geometry, x.layout, output.layout)] }), let plan = known else { return nil }
        return "oneDNN \(plan.implementation)"
    }

    /// Runs the plan chosen for `x`'s and `output`'s layouts (making a direct one if none was
    /// chosen, as when a constant is folded at load); false when oneDNN cannot.
    func run(_ geometry: cdnnl_conv_geometry, _ x: TensorRef, _ weights: [Float], _ bias: [Float]?, _ output: TensorRef) -> Bool {
        guard enabled else { return false }
        let key = key(geometry, x.layout, output.layout)
        let plan: DNNLPlan?
        if let known = plans.byKey.withLock({ $0[key] }) {
            plan = known
        } else {
            let made = make(geometry, src: x.layout, dst: output.layout)
            plan = plans.byKey.withLock { plans in
                if plans[key] == nil { plans[key] = .some(made) }
                return plans[key]!
            }
        }
        guard let plan else { return false }
        var message = [CChar](repeating: 0, count: 256)
        let status = plan.scratchpads.with { scratch in
            weights.withUnsafeBufferPointer { weights in
                (bias ?? []).withUnsafeBufferPointer { bias in
                    cdnnl_conv_run(plan.pointer, x.pointer, weights.baseAddress, bias.baseAddress, output.pointer,
                                   scratch.buffers[0], &message, message.count)
                }
            }
        }
        return status == 0
    }
}

/// Runs `body` on row-major copies of `x` and `output` when they are in other layouts: the
/// SGEMM paths' way to serve a plan whose oneDNN run failed.
func inRowMajor(_ x: TensorRef, _ output: TensorRef, threads: Int, _ body: (TensorRef, TensorRef) -> Void) {
    guard x.layout != .rowMajor || output.layout != .rowMajor else { return body(x, output) }
    let convert = LayoutConversion()
    let source = Arena([x.count, output.count])
    let rowX = TensorRef(shape: x.shape, pointer: source.buffers[0])
    let rowOutput = TensorRef(shape: output.shape, pointer: source.buffers[1])
    convert.run([x], rowX, threads: threads)
    body(rowX, rowOutput)
    convert.run([rowOutput], output, threads: threads)
}

/// ConvTranspose on oneDNN, or as SGEMM into columns, then col2im with strides, pads, dilations
/// and output_padding, when oneDNN cannot run a shape.
struct TransposedConvolution: Operator {
    let weights: [Float]      // [Cin, Cout/group, kh, kw]
    let bias: [Float]?
    let inChannels: Int
    let outPerGroup: Int
    let group: Int
    let kernel: (Int, Int)
    let strides: (Int, Int)
    let dilations: (Int, Int)
    let pads: (Int, Int, Int, Int)
    let outputPadding: (Int, Int)
    let label: String
    let oneDNN: DNNLKernel

    init(_ node: NodeContext) throws {
        try node.allowOnly(["kernel_shape", "strides", "pads", "dilations", "group", "output_padding", "auto_pad"])
        guard node.string("auto_pad", default: "NOTSET") == "NOTSET" else {
            throw node.error(.unsupported, "auto_pad is not supported for ConvTranspose; give pads")
        }
        guard case .float(let w)? = try node.constant(1, "weights"), w.shape.count == 4 else {
            throw node.error(.unsupported, "the weights must be a constant 4-D float tensor")
        }
        weights = w.data
        inChannels = w.shape[0]
        group = node.int("group", default: 1)
        outPerGroup = w.shape[1]
        guard group >= 1, inChannels % group == 0 else { throw node.error(.malformedModel, "group \(group) does not divide \(inChannels) input channels") }
        kernel = (w.shape[2], w.shape[3])
        let s = node.ints("strides") ?? [1, 1], d = node.ints("dilations") ?? [1, 1]
        let p = node.ints("pads") ?? [0, 0, 0, 0], op = node.ints("output_padding") ?? [0, 0]
        guard s.count == 2, d.count == 2, p.count == 4, op.count == 2 else {
            throw node.error(.unsupported, "only 2-D transposed convolutions are supported")
        }
        guard s.allSatisfy({ $0 > 0 }), d.allSatisfy({ $0 > 0 }), p.allSatisfy({ $0 >= 0 }), op.allSatisfy({ $0 >= 0 }),
              (s + d + p + op).allSatisfy({ $0 <= 1 << 20 }) else {
            throw node.error(.malformedModel, "strides and dilations must be positive, pads and output_padding not negative (and all below 2^20)")
        }
        strides = (s[0], s[1])
        dilations = (d[0], d[1])
        pads = (p[0], p[1], p[2], p[3])
        outputPadding = (op[0], op[1])
        bias = try node.bias(channels: outPerGroup * group)
        label = node.label
        oneDNN = DNNLKernel(enabled: node.useOneDNN)
    }

    func outputShape(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        let x = shapes[0]
        guard x.count == 4, x[1] == inChannels else {
            throw InferenceError(.shapeMismatch, "input shape \(x) does not fit weights with \(inChannels) input channels", node: label)
        }
        let h = strides.0 * (x[2] - 1) + outputPadding.0 + (kernel.0 - 1) * dilations.0 + 1 - pads.0 - pads.2
        let w = strides.1 * (x[3] - 1) + outputPadding.1 + (kernel.1 - 1) * dilations.1 + 1 - pads.1 - pads.3
        return [x[0], outPerGroup * group, h, w]
    }

    func layouts(offered: [TensorLayout], shapes: [[Int]]) -> StepLayouts {
        guard let geometry = try? geometry(shapes[0]) else { return .rowMajor(1) }
        return oneDNN.layouts(geometry)
    }

    func kernel(_ inputs: [TensorRef], _ output: TensorRef) -> String? {
        (try? geometry(inputs[0].shape)).flatMap { oneDNN.implementation($0, inputs[0], output) } ?? "OpenBLAS sgemm + col2im"
    }

    func run(_ inputs: [TensorRef], _ output: TensorRef, threads: Int) {
        if let geometry = try? geometry(inputs[0].shape), oneDNN.run(geometry, inputs[0], weights, bias, output) { return }
        inRowMajor(inputs[0], output, threads: threads, runGEMM)
    }

    /// oneDNN crops the output by the pads; output_padding extends its end, so it shortens the end pads.
    private func geometry(_ shape: [Int]) throws(InferenceError) -> cdnnl_conv_geometry {
        let out = try outputShape([shape])
        return cdnnl_conv_geometry(
            batch: Int32(shape[0]), in_channels: Int32(inChannels), in_h: Int32(shape[2]), in_w: Int32(shape[3]),
            out_channels: Int32(out[1]), out_h: Int32(out[2]), out_w: Int32(out[3]),
            kernel_h: Int32(kernel.0), kernel_w: Int32(kernel.1), stride_h: Int32(strides.0), stride_w: Int32(strides.1),
            dilation_h: Int32(dilations.0), dilation_w: Int32(dilations.1),
            pad_top: Int32(pads.0), pad_left: Int32(pads.1),
            pad_bottom: Int32(pads.2 - outputPadding.0), pad_right: Int32(pads.3 - outputPadding.1),
            groups: Int32(group), transposed: 1, has_bias: bias == nil ? 0 : 1,
            winograd: 0, accumulate: 0, relu: 0, clip: 0, clip_low: 0, clip_high: 0)
    }

    /// SGEMM and col2im on row-major tensors.
    func runGEMM(_ x: TensorRef, _ output: TensorRef) {
        let (batch, inH, inW) = (x.shape[0], x.shape[2], x.shape[3])
        let (outH, outW) = (output.shape[2], output.shape[3])
        let inPerGroup = inChannels / group
        let rows = outPerGroup * kernel.0 * kernel.1
        let column = UnsafeMutablePointer<Float>.allocate(capacity: rows * inH * inW)
        defer { column.deallocate() }
        output.pointer.update(repeating: 0, count: output.count)
        weights.withUnsafeBufferPointer { weights in
            for n in 0..<batch {
                for g in 0..<group {
                    let a = weights.baseAddress! + g * inPerGroup * rows
                    let b = x.pointer + (n * inChannels + g * inPerGroup) * inH * inW
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rows), Int32(inH * inW), Int32(inPerGroup),
                                1, a, Int32(rows), b, Int32(inH * inW), 0, column, Int32(inH * inW))
                    let target = output.pointer + (n * outPerGroup * group + g * outPerGroup) * outH * outW
                    for c in 0..<outPerGroup {
                        for ki in 0..<kernel.0 {
                            for kj in 0..<kernel.1 {
                                let source = column + ((c * kernel.0 + ki) * kernel.1 + kj) * inH * inW
                                for y in 0..<inH {
                                    let oy = y * strides.0 - pads.0 + ki * dilations.0
                                    guard oy >= 0 && oy < outH else { continue }
                                    let outRow = target + (c * outH + oy) * outW
                                    for xIndex in 0..<inW {
                                        let ox = xIndex * strides.1 - pads.1 + kj * dilations.1
                                        if ox >= 0 && ox < outW { outRow[ox] += source[y * inW + xIndex] }
                                    }
                                }
                            }
                        }
                        if let bias {
                            let value = bias[g * outPerGroup + c]
                            let plane = target + c * outH * outW
                            for i in 0..<(outH * outW) { plane[i] += value }
                        }
                    }
                }
            }
        }
    }
}
