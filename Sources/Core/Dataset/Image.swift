/// An 8-bit image, row-major and interleaved, with no padding between rows.
public struct Image: Sendable, Hashable {
    /// How the bytes of one pixel are laid out.
    public enum Format: String, Sendable, Codable {
        case gray8
        case rgb8

        public var channels: Int { self == .gray8 ? 1 : 3 }
    }

    public let width: Int
    public let height: Int
    public let format: Format
    /// `width * height * format.channels` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, format: Format, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "an image has at least one pixel")
        precondition(pixels.count == width * height * format.channels,
                     "\(pixels.count) bytes do not fill a \(width)x\(height) \(format.rawValue) image")
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// An image of one colour, handy for tests and placeholders.
    public init(width: Int, height: Int, format: Format, filledWith value: UInt8) {
        self.init(width: width, height: height, format: format,
                  pixels: [UInt8](repeating: value, count: width * height * format.channels))
    }

    public var channels: Int { format.channels }
    public var pixelCount: Int { width * height }

    /// The sample at column `x`, row `y` and channel `c`.
    @inlinable
    public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        pixels[(y * width + x) * format.channels + c]
    }
}

/// Encoded image bytes as a job carries them, before decoding.
public struct EncodedImage: Sendable, Hashable {
    public let contentType: String
    public let bytes: [UInt8]

    public init(contentType: String, bytes: [UInt8]) {
        self.contentType = contentType
        self.bytes = bytes
    }
}
