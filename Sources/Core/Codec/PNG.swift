import CPNG

/// Limits checked before any pixel buffer is allocated.
public struct ImageLimits: Sendable, Hashable {
    /// The largest width and height accepted, in pixels.
    public var maxWidth: Int
    public var maxHeight: Int
    /// The largest width × height accepted.
    public var maxPixels: Int
    /// The largest encoded file accepted, in bytes.
    public var maxBytes: Int

    /// Room for a 48-megapixel phone camera, and no more.
    public static let `default` = ImageLimits(maxWidth: 10_000, maxHeight: 10_000,
                                              maxPixels: 50_000_000, maxBytes: 64 << 20)

    public init(maxWidth: Int, maxHeight: Int, maxPixels: Int, maxBytes: Int) {
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.maxPixels = maxPixels
        self.maxBytes = maxBytes
    }
}

/// Why an image could not be decoded or encoded.
public struct CodecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The bytes are not a PNG, or the PNG is damaged (bad CRC, bad zlib data, truncated).
        public static let corrupt = Code("corrupt")
        /// The image is over a configured limit.
        public static let tooLarge = Code("too_large")
        /// Memory for the pixels could not be had.
        public static let outOfMemory = Code("out_of_memory")
        /// The pixels cannot be encoded (an empty image, say).
        public static let unencodable = Code("unencodable")
        /// A valid file of a kind Gradeline does not decode (a CMYK JPEG, say).
        public static let unsupported = Code("unsupported")
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}

/// What a PNG's header says.
public struct PNGHeader: Sendable, Hashable {
    public var width: Int
    public var height: Int
    public var bitDepth: Int
    /// 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA.
    public var colorType: Int
    public var interlaced: Bool
    public var hasAlpha: Bool
}

/// PNG decoding and encoding through libpng.
public enum PNG {
    /// Decodes a PNG of any colour type and bit depth, interlaced or not, to 8-bit RGB.
    ///
    /// Palettes and bit depths under 8 are expanded, 16-bit samples are scaled to 8 bits with
    /// rounding, gray is copied to R, G and B, and alpha (or tRNS) is composited over white.
    /// Gamma chunks are ignored: the samples are used as stored.
    public static func decode(_ bytes: [UInt8], limits: ImageLimits = .default) throws(CodecError) -> Image {
        if bytes.count > limits.maxBytes {
            throw CodecError(.tooLarge, "the file has \(bytes.count) bytes; the limit is \(limits.maxBytes)")
        }
        // IHDR is the first chunk of every PNG, so its size can be checked before libpng runs.
        if let (width, height) = peekSize(bytes) {
            try check(width: width, height: height, against: limits)
        }
        return try bytes.withUnsafeBufferPointer { buffer throws(CodecError) -> Image in
            guard let decoder = cpng_decoder_create(buffer.baseAddress, buffer.count) else {
                throw CodecError(.outOfMemory, "no memory for a PNG decoder")
            }
            defer { cpng_decoder_destroy(decoder) }
            let header = try readHeader(decoder, limits: limits)
            try check(width: header.width, height: header.height, against: limits)
            let count = header.width * header.height * 3
            var failure: String?
            let pixels = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
                if cpng_decoder_read_rgb8(decoder, out.baseAddress, count) == 0 {
                    initialized = count
                } else {
                    // Whatever libpng wrote is discarded: the array is left empty.
                    failure = String(cString: cpng_decoder_error(decoder))
                    initialized = 0
                }
            }
            if let failure { throw CodecError(.corrupt, failure) }
            return Image(width: header.width, height: header.height, format: .rgb8, pixels: pixels)
        }
    }

    /// Reads only the header: size, colour type, bit depth, interlace.
    public static func header(_ bytes: [UInt8]) throws(CodecError) -> PNGHeader {
        try bytes.withUnsafeBufferPointer { buffer throws(CodecError) -> PNGHeader in
            guard let decoder = cpng_decoder_create(buffer.baseAddress, buffer.count) else {
                throw CodecError(.outOfMemory, "no memory for a PNG decoder")
            }
            defer { cpng_decoder_destroy(decoder) }
            return try readHeader(decoder, limits: nil)
        }
    }

    /// Encodes an 8-bit gray or RGB image. Level 1 is fast, 9 is small.
    public static func encode(_ image: Image, compressionLevel: Int = 3) throws(CodecError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            cpng_encode(pixels.baseAddress, UInt32(image.width), UInt32(image.height),
                        Int32(image.channels), Int32(compressionLevel), &output, &size,
                        &message, message.count)
        }
        guard status == 0, let output else {
            throw CodecError(.unencodable, String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { cpng_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    private static func readHeader(_ decoder: OpaquePointer, limits: ImageLimits?) throws(CodecError) -> PNGHeader {
        var info = cpng_info()
        // libpng refuses sizes above its user limits while it reads IHDR, before any row buffer.
        let maxWidth = UInt32(clamping: limits?.maxWidth ?? 0x7fff_ffff)
        let maxHeight = UInt32(clamping: limits?.maxHeight ?? 0x7fff_ffff)
        guard cpng_decoder_read_info(decoder, maxWidth, maxHeight, &info) == 0 else {
            throw CodecError(.corrupt, String(cString: cpng_decoder_error(decoder)))
        }
        return PNGHeader(width: Int(info.width), height: Int(info.height), bitDepth: Int(info.bit_depth),
                         colorType: Int(info.color_type), interlaced: info.interlaced != 0,
                         hasAlpha: info.has_alpha != 0)
    }

    /// Refuses a size over the limits, naming the size and the limit.
    static func check(width: Int, height: Int, against limits: ImageLimits) throws(CodecError) {
        try limits.check(width: width, height: height)
    }

    /// Width and height from the IHDR chunk, which the PNG format puts right after the signature.
    private static func peekSize(_ bytes: [UInt8]) -> (Int, Int)? {
        guard bytes.count >= 24, Array(bytes[12..<16]) == Array("IHDR".utf8) else { return nil }
        func bigEndian(_ offset: Int) -> Int {
            bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        return (bigEndian(16), bigEndian(20))
    }
}

extension ImageLimits {
    /// Refuses a size over the limits, naming the size and the limit.
    func check(width: Int, height: Int) throws(CodecError) {
        if width > maxWidth || height > maxHeight {
            throw CodecError(.tooLarge, "the image is \(width)x\(height) pixels; the limit is \(maxWidth)x\(maxHeight)")
        }
        if width * height > maxPixels {
            throw CodecError(.tooLarge, "the image has \(width * height) pixels (\(width)x\(height)); the limit is \(maxPixels)")
        }
    }
}
