/// `grayscale`: converts each side's image to 8-bit gray.
///
/// Gray is the ITU-R BT.601 luma, `(299 R + 587 G + 114 B + 500) / 1000` in integers, so
/// that every platform gets the same bytes. A gray image passes through unchanged.
public struct Grayscale: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "grayscale", module: .processor,
        summary: "Converts each side's image to 8-bit gray (BT.601 luma).")

    let input: ArtifactKey<Sided<Image>>
    let output: ArtifactKey<Sided<Image>>

    public init(configuring step: inout StepBuilder) {
        input = step.input("image", Sided<Image>.self, default: "image")
        output = step.output("image", Sided<Image>.self, default: "gray")
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        request[output] = try request.require(input).map { _, image in Self.gray(image) }
        return .ok
    }

    /// The BT.601 luma of `image`.
    public static func gray(_ image: Image) -> Image {
        guard image.format == .rgb8 else { return image }
        let pixels = [UInt8](unsafeUninitializedCapacity: image.pixelCount) { out, count in
            image.pixels.withUnsafeBufferPointer { rgb in
                for i in 0..<image.pixelCount {
                    let luma = 299 * UInt32(rgb[3 * i]) + 587 * UInt32(rgb[3 * i + 1])
                        + 114 * UInt32(rgb[3 * i + 2])
                    out[i] = UInt8((luma + 500) / 1000)
                }
            }
            count = image.pixelCount
        }
        return Image(width: image.width, height: image.height, format: .gray8, pixels: pixels)
    }
}
