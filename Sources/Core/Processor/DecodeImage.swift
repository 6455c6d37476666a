/// `decode_image`: decodes each side's photo to 8-bit RGB, checking size limits first.
public struct DecodeImage: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "decode_image", module: .processor,
        summary: "Decodes each side's photo (PNG) to 8-bit RGB within size limits.")

    let input: ArtifactKey<Sided<EncodedImage>>
    let output: ArtifactKey<Sided<Image>>
    let limits: ImageLimits

    public init(configuring step: inout StepBuilder) {
        input = step.input("photos", Sided<EncodedImage>.self, default: ArtifactKey.photos.name)
        output = step.output("image", Sided<Image>.self, default: "image")
        let defaults = ImageLimits.default
        limits = ImageLimits(
            maxWidth: step.params.int("max_width", default: defaults.maxWidth, in: 1...100_000),
            maxHeight: step.params.int("max_height", default: defaults.maxHeight, in: 1...100_000),
            maxPixels: step.params.int("max_pixels", default: defaults.maxPixels, in: 1...1_000_000_000),
            maxBytes: step.params.int("max_bytes", default: defaults.maxBytes, in: 1...(1 << 31)))
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        request[output] = try request.require(input).map { side, photo in
            guard photo.contentType == "image/png" else {
                throw PipelineError(.unsupportedContentType,
                                    "content type '\(photo.contentType)' has no decoder; supported: image/png",
                                    side: side)
            }
            do throws(CodecError) {
                return try PNG.decode(photo.bytes, limits: limits)
            } catch {
                switch error.code {
                case .tooLarge:
                    throw PipelineError(.imageTooLarge, "PNG over the limits: \(error.reason)", side: side)
                case .outOfMemory:
                    throw PipelineError(.resourceExhausted, "PNG decode: \(error.reason)", side: side,
                                        retriable: true)
                default:
                    throw PipelineError(.imageCorrupt, "cannot decode the PNG: \(error.reason)", side: side)
                }
            }
        }
        return .ok
    }
}
