/// `decode_image`: decodes each side's photo (PNG or JPEG) to 8-bit RGB, checking size limits first.
public struct DecodeImage: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "decode_image", module: .processor,
        summary: "Decodes each side's photo (PNG or JPEG) to 8-bit RGB within size limits.")

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
        let formats = try photos.map { side, photo in try Self.format(of: photo, side: side) }
        let headers = try photos.map { side, photo in
            let format = formats[side]!
            do throws(CodecError) {
                let size = try format.size(photo.bytes)
                try limits.check(width: size.width, height: size.height)
                return size
            } catch {
                throw Self.pipelineError(error, format: format, side: side)
            }
        }
        let total = headers.values.reduce(0) { $0 + $1.width * $1.height }
        if total > maxJobPixels {
            let sizes = headers.entries.map { "\($0.side) \($0.value.width)x\($0.value.height)" }
            throw PipelineError(.imageTooLarge,
                                "the job's \(headers.count) photos have \(total) pixels together (\(sizes.joined(separator: ", "))); the limit is \(maxJobPixels) (max_job_pixels)")
        }
        request[output] = try photos.map { side, photo in
            let format = formats[side]!
            do throws(CodecError) {
                return try format.decode(photo.bytes, limits: limits)
            } catch {
                throw Self.pipelineError(error, format: format, side: side)
            }
        }
        return .ok
    }

    /// The format of a side's photo: the one its content type names, which its first bytes
    /// must agree with, so that a PNG sent as image/jpeg (or the other way) is named as such.
    static func format(of photo: EncodedImage, side: Side) throws -> PhotoFormat {
        let supported = PhotoFormat.allCases.map(\.contentType).joined(separator: ", ")
        guard let declared = PhotoFormat(rawValue: photo.contentType) else {
            throw PipelineError(.unsupportedContentType,
                                "content type '\(photo.contentType)' has no decoder; supported: \(supported)",
                                side: side)
        }
        if let sniffed = PhotoFormat.sniff(photo.bytes), sniffed != declared {
            throw PipelineError(.contentTypeMismatch,
                                "the content type is \(declared.contentType) but the bytes are a \(sniffed.name) (they start with its signature)",
                                side: side)
        }
        return declared
    }

    /// The pipeline's error for a codec's, keeping the side it happened on.
    static func pipelineError(_ error: CodecError, format: PhotoFormat, side: Side) -> PipelineError {
        let name = format.name
        return switch error.code {
        case .tooLarge:
            PipelineError(.imageTooLarge, "\(name) over the limits: \(error.reason)", side: side)
        case .outOfMemory:
            PipelineError(.resourceExhausted, "\(name) decode: \(error.reason)", side: side, retriable: true)
        case .unsupported:
            PipelineError(.unsupportedContentType, "\(name) not supported: \(error.reason)", side: side)
        default:
            PipelineError(.imageCorrupt, "cannot decode the \(name): \(error.reason)", side: side)
        }
    }
}
