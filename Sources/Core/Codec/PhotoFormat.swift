/// The encoded formats `decode_image` reads, known by content type and by their first bytes.
public enum PhotoFormat: String, Sendable, CaseIterable {
    case png = "image/png"
    case jpeg = "image/jpeg"

    /// The content type a job gives for this format.
    public var contentType: String { rawValue }
    /// The format's name in messages.
    public var name: String { self == .png ? "PNG" : "JPEG" }

    /// The format the bytes are, from their signature: PNG's 8 bytes, or JPEG's SOI marker and
    /// the first byte of the next marker (FF D8 FF). Nil for anything else.
    public static func sniff(_ bytes: [UInt8]) -> PhotoFormat? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if JPEGMarkers.sniff(bytes) { return .jpeg }
        return nil
    }

    /// The size the decoded image will have, from the header alone.
    public func size(_ bytes: [UInt8]) throws(CodecError) -> (width: Int, height: Int) {
        switch self {
        case .png:
            let header = try PNG.header(bytes)
            return (header.width, header.height)
        case .jpeg:
            let header = try JPEG.header(bytes)
            return (header.width, header.height)
        }
    }

    /// Decodes to 8-bit RGB within the limits.
    public func decode(_ bytes: [UInt8], limits: ImageLimits) throws(CodecError) -> Image {
        switch self {
        case .png: try PNG.decode(bytes, limits: limits)
        case .jpeg: try JPEG.decode(bytes, limits: limits)
        }
    }
}
