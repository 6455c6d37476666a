/// The EXIF orientation of a photo (TIFF tag 0x0112), and how to turn the stored pixels upright.
///
/// Cases are named after the Pillow transposition that `ImageOps.exif_transpose` applies for
/// each value, so the two can be compared line by line.
public enum ExifOrientation: Int, Sendable, Hashable, CaseIterable {
    case normal = 1
    case flipLeftRight = 2
    case rotate180 = 3
    case flipTopBottom = 4
    case transpose = 5
    /// Pillow's ROTATE_270: a quarter turn clockwise.
    case rotate270 = 6
    case transverse = 7
    /// Pillow's ROTATE_90: a quarter turn counter-clockwise.
    case rotate90 = 8

    /// The tag that holds the orientation in IFD0.
    static let tag: UInt16 = 0x0112

    /// True when the upright image is the stored one with width and height swapped.
    public var swapsAxes: Bool { rawValue >= 5 }

    /// The orientation in an APP1 payload ("Exif\0\0" then a TIFF structure), or `.normal`
    /// when there is none or the block cannot be read: a broken EXIF block never fails a photo.
    ///
    /// Only IFD0 is read, entry by entry, each bounds-checked, so no offset can point outside
    /// the block and no IFD chain can loop. As in Pillow, the last orientation entry among the
    /// complete ones counts, it must hold one SHORT, LONG, SSHORT or SLONG, and values other
    /// than 1 to 8 mean none.
    public init(exif payload: ArraySlice<UInt8>?) {
        self = Self.read(payload) ?? .normal
    }

    private static func read(_ payload: ArraySlice<UInt8>?) -> ExifOrientation? {
        guard let payload, payload.starts(with: Array("Exif\0\0".utf8)) else { return nil }
        let tiff = TIFFReader(Array(payload.dropFirst(6)))
        guard let tiff, let ifd = tiff.uint32(at: 4), ifd <= Int.max - 2,
              let count = tiff.uint16(at: Int(ifd)) else { return nil }
        var found: ExifOrientation?
        for index in 0..<count {
            let entry = Int(ifd) + 2 + index * 12
            guard let tag = tiff.uint16(at: entry), let type = tiff.uint16(at: entry + 2),
                  let values = tiff.uint32(at: entry + 4), tiff.uint32(at: entry + 8) != nil else { break }
            guard tag == Int(Self.tag) else { continue }
            found = values == 1 ? tiff.scalar(type: type, at: entry + 8).flatMap(ExifOrientation.init(rawValue:)) : nil
        }
        return found
    }

    /// The stored image turned upright, as Pillow's `Image.transpose` does it.
    public func apply(to image: Image) -> Image {
        if self == .normal { return image }
        let (w, h, c) = (image.width, image.height, image.channels)
        let (outWidth, outHeight) = swapsAxes ? (h, w) : (w, h)
        var pixels = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                var out = 0
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sx, sy) = sourcePixel(x, y, width: w, height: h)
                        let from = (sy * w + sx) * c
                        for channel in 0..<c { target[out + channel] = source[from + channel] }
                        out += c
                    }
                }
            }
        }
        return Image(width: outWidth, height: outHeight, format: image.format, pixels: pixels)
    }

    /// The stored pixel that lands at (x, y) of the upright image, for a stored w x h image.
    func sourcePixel(_ x: Int, _ y: Int, width w: Int, height h: Int) -> (Int, Int) {
        switch self {
        case .normal: (x, y)
        case .flipLeftRight: (w - 1 - x, y)
        case .rotate180: (w - 1 - x, h - 1 - y)
        case .flipTopBottom: (x, h - 1 - y)
        case .transpose: (y, x)
        case .rotate270: (y, h - 1 - x)
        case .transverse: (w - 1 - y, h - 1 - x)
        case .rotate90: (w - 1 - y, x)
        }
    }
}

/// Reads integers from a TIFF structure in its own byte order, returning nil past its end.
private struct TIFFReader {
    let bytes: [UInt8]
    let bigEndian: Bool

    /// A reader for bytes that start with a TIFF header ("II*\0" or "MM\0*"), else nil.
    init?(_ bytes: [UInt8]) {
        if bytes.starts(with: [0x49, 0x49, 0x2A, 0x00]) {
            bigEndian = false
        } else if bytes.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) {
            bigEndian = true
        } else {
            return nil
        }
        self.bytes = bytes
    }

    private func unsigned(at offset: Int, size: Int) -> Int? {
        guard offset >= 0, offset <= bytes.count - size else { return nil }
        var value = 0
        for i in 0..<size {
            let byte = Int(bytes[offset + (bigEndian ? i : size - 1 - i)])
            value = value << 8 | byte
        }
        return value
    }

    func uint16(at offset: Int) -> Int? { unsigned(at: offset, size: 2) }
    func uint32(at offset: Int) -> Int? { unsigned(at: offset, size: 4) }

    /// A one-value entry's value, kept in the entry's 4-byte value field: SHORT (3), LONG (4),
    /// SSHORT (8) or SLONG (9); other types are not integers to Pillow.
    func scalar(type: Int, at offset: Int) -> Int? {
        switch type {
        case 3: uint16(at: offset)
        case 4: uint32(at: offset)
        case 8: uint16(at: offset).map { Int(Int16(truncatingIfNeeded: $0)) }
        case 9: uint32(at: offset).map { Int(Int32(truncatingIfNeeded: $0)) }
        default: nil
        }
    }
}
