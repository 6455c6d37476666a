/// `check_sides`: rejects a job that lacks a required side.
public struct CheckSides: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "check_sides", module: .checker, summary: "Rejects a job without every required side.")

    let input: ArtifactKey<Sided<EncodedImage>>
    let required: [Side]

    public init(configuring step: inout StepBuilder) {
        input = step.input("photos", Sided<EncodedImage>.self, default: ArtifactKey.photos.name)
        let names = step.params.strings("required", default: ["front", "back"])
        required = names.compactMap(Side.init(rawValue:))
        if required.count != names.count {
            step.params.reject("required", "sides are \(Side.allCases.map(\.rawValue).joined(separator: ", ")); got \(names)")
        }
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        let present = Set(try request.require(input).sides)
        let missing = required.filter { !present.contains($0) }
        guard missing.isEmpty else {
            return .rejected(missing.map {
                Reason(code: "missing_side", side: $0, detail: "the job has no \($0.rawValue) photo; the kiosk must take one")
            })
        }
        return .ok
    }
}

/// `check_size`: rejects photos of too low a resolution or the wrong shape.
public struct CheckSize: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "check_size", module: .checker,
        summary: "Rejects photos under a minimum resolution or outside a height/width ratio range.")

    let input: ArtifactKey<Sided<Image>>
    let minWidth: Int, minHeight: Int
    let minAspect: Double, maxAspect: Double

    public init(configuring step: inout StepBuilder) {
        input = step.input("image", Sided<Image>.self, default: "image")
        minWidth = step.params.int("min_width", default: 480, in: 1...100_000)
        minHeight = step.params.int("min_height", default: 960, in: 1...100_000)
        minAspect = step.params.double("min_aspect", default: 1.6, in: 0.01...100)
        maxAspect = step.params.double("max_aspect", default: 2.4, in: 0.01...100)
        if minAspect > maxAspect { step.params.reject("min_aspect", "must not be above max_aspect (\(maxAspect))") }
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        try request.require(input).check { side, image, reasons in
            if image.width < minWidth || image.height < minHeight {
                reasons.append(Reason(code: "resolution_too_low", side: side,
                                      detail: "the photo is \(image.width)x\(image.height); the minimum is \(minWidth)x\(minHeight)"))
            }
            let aspect = Double(image.height) / Double(image.width)
            if aspect < minAspect || aspect > maxAspect {
                reasons.append(Reason(code: "wrong_aspect_ratio", side: side,
                                      detail: "height/width is \(Reason.number(aspect)); it must be from \(minAspect) to \(maxAspect) (a portrait photo of the phone)"))
            }
        }
    }
}

/// `check_exposure`: rejects photos that are too dark, over-exposed, or with a large glare.
///
/// Brightness is the BT.601 luma; glare is the fraction of pixels at `glare_level` or above.
public struct CheckExposure: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "check_exposure", module: .checker,
        summary: "Rejects too dark or over-exposed photos, and photos with a large saturated area (glare).")

    let input: ArtifactKey<Sided<Image>>
    let minMean: Double, maxMean: Double
    let glareLevel: Int, maxGlareFraction: Double

    public init(configuring step: inout StepBuilder) {
        input = step.input("image", Sided<Image>.self, default: "gray")
        minMean = step.params.double("min_mean", default: 40, in: 0...255)
        maxMean = step.params.double("max_mean", default: 215, in: 0...255)
        glareLevel = step.params.int("glare_level", default: 250, in: 1...255)
        maxGlareFraction = step.params.double("max_glare_fraction", default: 0.05, in: 0...1)
        if minMean > maxMean { step.params.reject("min_mean", "must not be above max_mean (\(maxMean)); every photo would be rejected") }
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        try request.require(input).check { side, image, reasons in
            let gray = Grayscale.gray(image)
            var sum = 0, glare = 0
            for value in gray.pixels {
                sum += Int(value)
                if Int(value) >= glareLevel { glare += 1 }
            }
            let mean = Double(sum) / Double(gray.pixelCount)
            let glareFraction = Double(glare) / Double(gray.pixelCount)
            if mean < minMean {
                reasons.append(Reason(code: "too_dark", side: side,
                                      detail: "mean brightness \(Reason.number(mean)) is below \(minMean)"))
            } else if mean > maxMean {
                reasons.append(Reason(code: "overexposed", side: side,
                                      detail: "mean brightness \(Reason.number(mean)) is above \(maxMean)"))
            }
            if glareFraction > maxGlareFraction {
                reasons.append(Reason(code: "glare", side: side,
                                      detail: "\(Reason.number(glareFraction * 100))% of the photo is at brightness \(glareLevel) or more; the limit is \(maxGlareFraction * 100)%"))
            }
        }
    }
}

/// `check_blur`: rejects blurred photos by the variance of the Laplacian of the gray image.
///
/// The Laplacian is the 4-neighbour kernel (0 1 0 / 1 -4 1 / 0 1 0) over the interior pixels;
/// a sharp photo has strong edges and so a high variance.
public struct CheckBlur: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "check_blur", module: .checker,
        summary: "Rejects blurred photos: the variance of the gray image's Laplacian under a threshold.")

    let input: ArtifactKey<Sided<Image>>
    let minVariance: Double

    public init(configuring step: inout StepBuilder) {
        input = step.input("image", Sided<Image>.self, default: "gray")
        minVariance = step.params.double("min_laplacian_variance", default: 8, in: 0...1_000_000)
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        try request.require(input).check { side, image, reasons in
            let variance = Self.laplacianVariance(Grayscale.gray(image))
            if variance < minVariance {
                reasons.append(Reason(code: "blurred", side: side,
                                      detail: "Laplacian variance \(Reason.number(variance)) is below \(minVariance); hold the phone still and refocus"))
            }
        }
    }

    static func laplacianVariance(_ gray: Image) -> Double {
        let (width, height) = (gray.width, gray.height)
        guard width >= 3, height >= 3 else { return 0 }
        // Exact integer sums, which the compiler vectorizes: a value is within +-1020 and its
        // square within 1,040,400, so 2,000 squares fit in Int32. The Double sums this replaced
        // were exact too (all below 2^53), so the variance has the same bits.
        var sum = 0, squares = 0
        gray.pixels.withUnsafeBufferPointer { p in
            for y in 1..<(height - 1) {
                var start = 1
                while start < width - 1 {
                    let end = min(width - 1, start + 2000)
                    var chunkSum: Int32 = 0, chunkSquares: Int32 = 0
                    for x in start..<end {
                        let i = y &* width &+ x
                        let value = Int32(p[i &- width]) &+ Int32(p[i &+ width]) &+ Int32(p[i &- 1]) &+ Int32(p[i &+ 1])
                            &- 4 &* Int32(p[i])
                        chunkSum &+= value
                        chunkSquares &+= value &* value
                    }
                    sum += Int(chunkSum)
                    squares += Int(chunkSquares)
                    start = end
                }
            }
        }
        let count = Double((width - 2) * (height - 2))
        let mean = Double(sum) / count
        return Double(squares) / count - mean * mean
    }
}
