import CJPEG

/// What a JPEG's header says, with the orientation of its EXIF block.
public struct JPEGHeader: Sendable, Hashable {
    /// The colour space a JPEG declares.
    public enum ColorSpace: String, Sendable, Hashable {
        case gray, rgb, ycbcr, cmyk, ycck, unknown
    }

    /// The size as stored, before the EXIF orientation turns it.
    public var storedWidth: Int
    public var storedHeight: Int
    public var components: Int
    public var colorSpace: ColorSpace
    public var progressive: Bool
    /// `.normal` when the file has no EXIF orientation or its EXIF block cannot be read.
    public var orientation: ExifOrientation

    /// The width of the decoded image: the stored size, turned upright.
    public var width: Int { orientation.swapsAxes ? storedHeight : storedWidth }
    public var height: Int { orientation.swapsAxes ? storedWidth : storedHeight }
}

/// JPEG decoding through libjpeg-turbo.
public enum JPEG {
    /// The most scans (SOS markers) a file may have. Progressive encoders write about 10 (libjpeg's
    /// default script has 10, mozjpeg's up to 64); each scan costs a pass over every block, so a
    /// few KB holding thousands of them would cost seconds of CPU.
    public static let maxScans = 1000

    /// Decodes a gray, YCbCr or RGB JPEG, baseline or progressive, to 8-bit RGB, turned upright
    /// by its EXIF orientation.
    ///
    /// libjpeg's defaults are kept, as Pillow keeps them: the accurate integer IDCT and fancy
    /// upsampling. Gray is copied to R, G and B. CMYK and YCCK are refused. The upright size is
    /// checked against the limits before any pixel memory is allocated, first from the frame
    /// header as the file holds it, then from libjpeg's reading of the header; libjpeg may take
    /// no more memory than the header says it needs. Any libjpeg warning (corrupt data, a file
    /// that ends early) is an error, and so is a file with more than `maxScans` scans.
    public static func decode(_ bytes: [UInt8], limits: ImageLimits = .default) throws(CodecError) -> Image {
        if bytes.count > limits.maxBytes {
            throw CodecError(.tooLarge, "the file has \(bytes.count) bytes; the limit is \(limits.maxBytes)")
        }
        let markers = JPEGMarkers(bytes)
        let orientation = ExifOrientation(exif: markers.exif)
        if let size = markers.frameSize {
            let (width, height) = orientation.swapsAxes ? (size.height, size.width) : (size.width, size.height)
            try limits.check(width: width, height: height)
        }
        return try withDecoder(bytes) { decoder throws(CodecError) -> Image in
            var info = cjpeg_info()
            let header = try readHeader(decoder, orientation: orientation, info: &info)
            try limits.check(width: header.width, height: header.height)
            try refuseColorSpace(header)
            let count = header.storedWidth * header.storedHeight * 3
            var failure: String?
            let pixels = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
                if cjpeg_decoder_read_rgb8(decoder, out.baseAddress, count, info.memory_needed) == 0 {
                    initialized = count
                } else {
                    // Whatever libjpeg wrote is discarded: the array is left empty.
                    failure = String(cString: cjpeg_decoder_error(decoder))
                    initialized = 0
                }
            }
            if let failure { throw CodecError(.corrupt, failure) }
            let stored = Image(width: header.storedWidth, height: header.storedHeight, format: .rgb8, pixels: pixels)
            return orientation.apply(to: stored)
        }
    }

    /// Reads only the header: size, colour space, progressive or not, EXIF orientation.
    public static func header(_ bytes: [UInt8]) throws(CodecError) -> JPEGHeader {
        let orientation = ExifOrientation(exif: JPEGMarkers(bytes).exif)
        return try withDecoder(bytes) { decoder throws(CodecError) -> JPEGHeader in
            var info = cjpeg_info()
            return try readHeader(decoder, orientation: orientation, info: &info)
        }
    }

    /// Runs `body` with a libjpeg decoder over `bytes`, destroyed afterwards.
    private static func withDecoder<T>(_ bytes: [UInt8],
                                       _ body: (OpaquePointer) throws(CodecError) -> T) throws(CodecError) -> T {
        try bytes.withUnsafeBufferPointer { buffer throws(CodecError) -> T in
            guard let decoder = cjpeg_decoder_create(buffer.baseAddress, buffer.count, Int32(maxScans)) else {
                throw CodecError(.outOfMemory, "no memory for a JPEG decoder")
            }
            defer { cjpeg_decoder_destroy(decoder) }
            return try body(decoder)
        }
    }

    private static func readHeader(_ decoder: OpaquePointer, orientation: ExifOrientation,
                                   info: inout cjpeg_info) throws(CodecError) -> JPEGHeader {
        guard cjpeg_decoder_read_header(decoder, &info) == 0 else {
            throw CodecError(.corrupt, String(cString: cjpeg_decoder_error(decoder)))
        }
        return JPEGHeader(storedWidth: Int(info.width), storedHeight: Int(info.height),
                          components: Int(info.components), colorSpace: colorSpace(info.color_space),
                          progressive: info.progressive != 0, orientation: orientation)
    }

    private static func colorSpace(_ code: Int32) -> JPEGHeader.ColorSpace {
        switch code {
        case Int32(CJPEG_COLOR_GRAYSCALE): .gray
        case Int32(CJPEG_COLOR_RGB): .rgb
        case Int32(CJPEG_COLOR_YCBCR): .ycbcr
        case Int32(CJPEG_COLOR_CMYK): .cmyk
        case Int32(CJPEG_COLOR_YCCK): .ycck
        default: .unknown
        }
    }

    /// CMYK and YCCK are print formats that no kiosk camera writes, and their Adobe inversion
    /// conventions differ between tools; they are refused rather than guessed at.
    static func refuseColorSpace(_ header: JPEGHeader) throws(CodecError) {
        switch header.colorSpace {
        case .gray, .rgb, .ycbcr:
            return
        case .cmyk, .ycck:
            throw CodecError(.unsupported, "the JPEG is \(header.colorSpace == .cmyk ? "CMYK" : "YCCK") (4 components, for print); only gray, YCbCr and RGB JPEGs are accepted")
        case .unknown:
            throw CodecError(.unsupported, "the JPEG has \(header.components) components in an unknown colour space; only gray, YCbCr and RGB JPEGs are accepted")
        }
    }
}
