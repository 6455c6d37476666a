import Foundation

/// `check_device`: rejects photos with no phone in frame, or with the phone cut off by the
/// border, from the model's mask. The phone is the largest 8-connected region of classes other
/// than background, so that specks the model sees on the tray do not count.
public struct CheckDevice: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "check_device", module: .checker,
        summary: "Rejects photos where the model sees no phone, or the phone touches the border.")

    let input: ArtifactKey<Sided<Mask>>
    let minFraction: Double
    let maxBorderFraction: Double

    public init(configuring step: inout StepBuilder) {
        input = step.input("mask", Sided<Mask>.self, default: "mask")
        minFraction = step.params.double("min_device_fraction", default: 0.15, in: 0...1)
        maxBorderFraction = step.params.double("max_border_fraction", default: 0.05, in: 0...1)
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        try request.require(input).check { side, mask, reasons in
            let background = UInt8(mask.classes.firstIndex(of: "background") ?? 0)
            let phone = FindDamages.components(mask) { $0 != background }.max { $0.pixels.count < $1.pixels.count }
            var inPhone = [Bool](repeating: false, count: mask.labels.count)
            for pixel in phone?.pixels ?? [] { inPhone[pixel] = true }
            let fraction = Double(phone?.pixels.count ?? 0) / Double(mask.labels.count)
            if fraction < minFraction {
                reasons.append(Reason(code: "no_phone", side: side,
                                      detail: "the phone covers \(Reason.number(fraction * 100))% of the photo; at least \(minFraction * 100)% is needed"))
                return
            }
            var border = 0, onBorder = 0
            for x in 0..<mask.width {
                for y in [0, mask.height - 1] {
                    border += 1
                    if inPhone[y * mask.width + x] { onBorder += 1 }
                }
            }
            for y in 1..<max(1, mask.height - 1) {
                for x in [0, mask.width - 1] {
                    border += 1
                    if inPhone[y * mask.width + x] { onBorder += 1 }
                }
            }
            let borderFraction = Double(onBorder) / Double(max(border, 1))
            if borderFraction > maxBorderFraction {
                reasons.append(Reason(code: "phone_cut_off", side: side,
                                      detail: "the phone touches \(Reason.number(borderFraction * 100))% of the photo's border; at most \(maxBorderFraction * 100)% is allowed"))
            }
        }
    }
}

/// `check_confidence`: rejects photos the model is unsure about: the mean, over all pixels, of
/// the per-pixel entropy of the softmax of the logits (in nats), above a threshold.
/// It catches inputs unlike anything the model was trained on.
public struct CheckConfidence: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "check_confidence", module: .checker,
        summary: "Rejects photos where the model's mean per-pixel entropy is above a threshold.")

    let input: ArtifactKey<Tensor>
    let maxEntropy: Double

    public init(configuring step: inout StepBuilder) {
        input = step.input("logits", Tensor.self, default: "logits")
        maxEntropy = step.params.double("max_mean_entropy", default: 0.5, in: 0...10)
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        let logits = try request.require(input)
        guard logits.shape.count == 4, logits.sides.count == logits.shape[0] else {
            throw PipelineError(.invalidInput, "logits of shape \(logits.shape) are not NCHW with one entry per side")
        }
        let (channels, plane) = (logits.shape[1], logits.shape[2] * logits.shape[3])
        var reasons: [Reason] = []
        for (n, side) in logits.sides.enumerated() {
            let entropy = Self.meanEntropy(logits.data, base: n * channels * plane, channels: channels, plane: plane)
            if !entropy.isFinite {
                // A NaN or an infinite logit makes the entropy NaN, and NaN > limit is false: the
                // photo would pass with a mask made from nonsense.
                reasons.append(Reason(code: "low_confidence", side: side,
                                      detail: "the model's output holds values that are not finite numbers (NaN or infinity); the model or its runtime is faulty"))
            } else if entropy > maxEntropy {
                reasons.append(Reason(code: "low_confidence", side: side,
                                      detail: "the model's mean per-pixel entropy is \(Reason.number(entropy)) nats; the limit is \(maxEntropy); the photo may not show a phone as the kiosk expects"))
            }
        }
        return reasons.isEmpty ? .ok : .rejected(reasons)
    }

    /// Mean over pixels of the softmax's entropy. With z = x - max(x) and S = sum(exp(z)),
    /// -sum(p log p) = log S - sum(exp(z) z) / S: one log per pixel instead of one per class.
    /// Eight pixels at a time in Float with `exp8` (the logits are Float; each pixel's entropy is
    /// within about 1e-6 of the Double computation), the tail and the sum in Double.
    static func meanEntropy(_ data: [Float], base: Int, channels: Int, plane: Int) -> Double {
        var total = 0.0
        let lanes = 8, whole = channels > 0 ? plane - plane % lanes : 0
        data.withUnsafeBufferPointer { data in
            let logits = data.baseAddress! + base
            var pixel = 0
            let floor = SIMD8<Float>(repeating: -87)
            while pixel < whole {
                var peak = UnsafeRawPointer(logits + pixel).loadUnaligned(as: SIMD8<Float>.self)
                for c in 1..<channels {
                    let value = UnsafeRawPointer(logits + c * plane + pixel).loadUnaligned(as: SIMD8<Float>.self)
                    peak = peak.replacing(with: value, where: value .> peak)
                }
                var sum = SIMD8<Float>(repeating: 0), weighted = SIMD8<Float>(repeating: 0)
                for c in 0..<channels {
                    // Below -87, exp(z) is under Float's smallest normal: clamping there (also for a
                    // -inf logit, whose p is 0) keeps e * z finite and changes no sum.
                    var z = UnsafeRawPointer(logits + c * plane + pixel).loadUnaligned(as: SIMD8<Float>.self) - peak
                    z = z.replacing(with: floor, where: z .< floor)
                    let e = exp8(z)
                    sum += e
                    weighted += e * z
                }
                for lane in 0..<lanes {
                    total += Double(logf(sum[lane])) - Double(weighted[lane]) / Double(sum[lane])
                }
                pixel += lanes
            }
            for pixel in whole..<plane {
                var peak = -Double.infinity
                for c in 0..<channels { peak = max(peak, Double(logits[c * plane + pixel])) }
                var sum = 0.0, weighted = 0.0
                for c in 0..<channels {
                    let z = Double(logits[c * plane + pixel]) - peak
                    let e = exp(z)
                    sum += e
                    if e > 0 { weighted += e * z }  // a -inf logit has p = 0 and adds nothing
                }
                total += log(sum) - weighted / sum
            }
        }
        return total / Double(max(plane, 1))
    }

    /// exp(z) for z in [-87, 0], in eight lanes: 2^n exp(r) with n = round(z / ln 2) and
    /// |r| <= ln 2 / 2, exp(r) by its Taylor series to r^6 (truncation under 2e-7 relative), 2^n
    /// built from its exponent bits. Within 4e-7 relative of exp (tested). Written with plain
    /// lane-wise arithmetic: `rounded` and a Float-to-Int32 vector conversion made it ten times
    /// slower than a scalar exp.
    @inline(__always)
    static func exp8(_ z: SIMD8<Float>) -> SIMD8<Float> {
        // Adding 1.5 * 2^23 rounds z / ln 2 to an integer n, to nearest even, and leaves n in the
        // low bits of the sum.
        let shifted = z * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        // ln 2 in two parts, the first exact in Float, so that r keeps its low bits.
        let r = (z - n * 0.693_145_751_953_125) - n * 1.428_606_765_330_187e-6
        var p = SIMD8<Float>(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    }
}
