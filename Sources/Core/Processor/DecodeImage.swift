/// `decode_image`: decodes each side's photo to 8-bit RGB, checking size limits first.
public struct DecodeImage: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "decode_image", module: .processor,
        summary: "Decodes each side's photo (PNG) to 8-bit RGB within size limits.")

    /// The most pixels all sides of one job may have together: two 50-megapixel sides and
    /// then some, about 360 MB of RGB.
    public static let defaultMaxJobPixels = 120_000_000

    let input: ArtifactKey<Sided<EncodedImage>>
    let output: ArtifactKey<Sided<Image>>
    let limits: ImageLimits
    let maxJobPixels: Int

    public init(configuring step: inout StepBuilder) {
        input = step.input("photos", Sided<EncodedImage>.self, default: ArtifactKey.photos.name)
        output = step.output("image", Sided<Image>.self, default: "image")
        let defaults = ImageLimits.default
        limits = ImageLimits(
            maxWidth: step.params.int("max_width", default: defaults.maxWidth, in: 1...100_000),
            maxHeight: step.params.int("max_height", default: defaults.maxHeight, in: 1...100_000),
            maxPixels: step.params.int("max_pixels", default: defaults.maxPixels, in: 1...1_000_000_000),
            maxBytes: step.params.int("max_bytes", default: defaults.maxBytes, in: 1...(1 << 31)))
        maxJobPixels = step.params.int("max_job_pixels", default: Self.defaultMaxJobPixels,
                                       in: 1...6_000_000_000)
        // A budget below one side's limit would quietly lower that limit; say so instead.
        if maxJobPixels < limits.maxPixels {
            step.params.reject("max_job_pixels", "must be at least max_pixels (\(limits.maxPixels)), not \(maxJobPixels)")
        }
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        let photos = try request.require(input)
        // Every side's header first, so that a job over its budget costs no pixel memory. Each
        // side is held to its own limits here too, which also keeps the sum from overflowing.
        let headers = try photos.map { side, photo in
            guard photo.contentType == "image/png" else {
                throw PipelineError(.unsupportedContentType,
                                    "content type '\(photo.contentType)' has no decoder; supported: image/png",
                                    side: side)
            }
            do throws(CodecError) {
                let header = try PNG.header(photo.bytes)
                try PNG.check(width: header.width, height: header.height, against: limits)
                return header
            } catch {
                throw Self.pipelineError(error, side: side)
            }
        }
        let total = headers.values.reduce(0) { $0 + $1.width * $1.height }
        if total > maxJobPixels {
            let sizes = headers.entries.map { "\($0.side) \($0.value.width)x\($0.value.height)" }
            throw PipelineError(.imageTooLarge,
                                "the job's \(headers.count) photos have \(total) pixels together (\(sizes.joined(separator: ", "))); the limit is \(maxJobPixels) (max_job_pixels)")
        }
        request[output] = try photos.map { side, photo in
            do throws(CodecError) {
                return try PNG.decode(photo.bytes, limits: limits)
            } catch {
                throw Self.pipelineError(error, side: side)
            }
        }
        return .ok
    }

    /// The pipeline's error for a codec's, keeping the side it happened on.
    static func pipelineError(_ error: CodecError, side: Side) -> PipelineError {
        switch error.code {
        case .tooLarge:
            PipelineError(.imageTooLarge, "PNG over the limits: \(error.reason)", side: side)
        case .outOfMemory:
            PipelineError(.resourceExhausted, "PNG decode: \(error.reason)", side: side, retriable: true)
        default:
            PipelineError(.imageCorrupt, "cannot decode the PNG: \(error.reason)", side: side)
        }
    }
}
