/// How `crop` reads its box.
public enum CropUnits: String, CaseIterable, Sendable {
    /// x, y, width and height are whole pixels.
    case pixels
    /// x, y, width and height are fractions of the image's width and height, from 0 to 1.
    case fraction
}

/// `crop`: cuts the same box out of each side's image.
public struct Crop: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "crop", module: .processor,
        summary: "Cuts a box (pixels or fractions of the size) out of each side's image.")

    let input: ArtifactKey<Sided<Image>>
    let output: ArtifactKey<Sided<Image>>
    let box: (x: Double, y: Double, width: Double, height: Double)
    let units: CropUnits

    public init(configuring step: inout StepBuilder) {
        input = step.input("image", Sided<Image>.self, default: "image")
        output = step.output("image", Sided<Image>.self, default: "cropped")
        units = step.params.choice("units", default: CropUnits.pixels)
        let upper = units == .pixels ? 100_000.0 : 1.0
        box = (step.params.double("x", in: 0...upper), step.params.double("y", in: 0...upper),
               step.params.double("width", in: 0...upper), step.params.double("height", in: 0...upper))
        if box.width == 0 || box.height == 0 {
            step.params.reject("the crop box must have a width and height above 0")
        }
        if units == .pixels, [box.x, box.y, box.width, box.height].contains(where: { $0 != $0.rounded() }) {
            step.params.reject("with units 'pixels', x, y, width and height must be whole numbers")
        }
        if units == .fraction, box.x + box.width > 1 || box.y + box.height > 1 {
            step.params.reject("with units 'fraction', x + width and y + height must be at most 1")
        }
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        request[output] = try request.require(input).map { side, image in
            let scaleX = units == .pixels ? 1 : Double(image.width)
            let scaleY = units == .pixels ? 1 : Double(image.height)
            let x = Int((box.x * scaleX).rounded()), y = Int((box.y * scaleY).rounded())
            let width = max(1, Int((box.width * scaleX).rounded()))
            let height = max(1, Int((box.height * scaleY).rounded()))
            guard x + width <= image.width, y + height <= image.height else {
                throw PipelineError(.invalidInput,
                                    "crop box \(width)x\(height) at (\(x), \(y)) does not fit in the \(image.width)x\(image.height) image",
                                    side: side)
            }
            return Self.crop(image, x: x, y: y, width: width, height: height)
        }
        return .ok
    }

    /// The pixels of `image` in the given box, which must lie inside it.
    public static func crop(_ image: Image, x: Int, y: Int, width: Int, height: Int) -> Image {
        let channels = image.channels
        var pixels = [UInt8]()
        pixels.reserveCapacity(width * height * channels)
        for row in y..<(y + height) {
            let start = (row * image.width + x) * channels
            pixels.append(contentsOf: image.pixels[start..<(start + width * channels)])
        }
        return Image(width: width, height: height, format: image.format, pixels: pixels)
    }
}
