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
            if entropy > maxEntropy {
                reasons.append(Reason(code: "low_confidence", side: side,
                                      detail: "the model's mean per-pixel entropy is \(Reason.number(entropy)) nats; the limit is \(maxEntropy); the photo may not show a phone as the kiosk expects"))
            }
        }
        return reasons.isEmpty ? .ok : .rejected(reasons)
    }

    /// Mean over pixels of the softmax's entropy. With z = x - max(x) and S = sum(exp(z)),
    /// -sum(p log p) = log S - sum(exp(z) z) / S: one log per pixel instead of one per class.
    static func meanEntropy(_ data: [Float], base: Int, channels: Int, plane: Int) -> Double {
        var total = 0.0
        data.withUnsafeBufferPointer { data in
            for pixel in 0..<plane {
                var peak = -Double.infinity
                for c in 0..<channels { peak = max(peak, Double(data[base + c * plane + pixel])) }
                var sum = 0.0, weighted = 0.0
                for c in 0..<channels {
                    let z = Double(data[base + c * plane + pixel]) - peak
                    let e = exp(z)
                    sum += e
                    if e > 0 { weighted += e * z }  // a -inf logit has p = 0 and adds nothing
                }
                total += log(sum) - weighted / sum
            }
        }
        return total / Double(max(plane, 1))
    }
}
