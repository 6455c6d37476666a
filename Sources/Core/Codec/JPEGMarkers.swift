/// What the markers before a JPEG's first scan say, read in Swift before libjpeg runs: the
/// frame's size (so that a file too large is refused even when it is cut off right after its
/// frame header) and the EXIF block.
///
/// Every length is checked against the bytes that are there; the walk stops quietly at the
/// first scan, at the end of the file or at anything it cannot follow, and libjpeg then says
/// what is wrong with the file. Each step moves forward by at least two bytes, so the walk ends.
struct JPEGMarkers {
    /// The width and height of the first frame header (SOF0 to SOF15), when one was found.
    var frameSize: (width: Int, height: Int)?
    /// The payload of the first APP1 segment that starts with "Exif\0", as Pillow takes it.
    var exif: ArraySlice<UInt8>?

    /// True when the bytes start with a JPEG's SOI marker and the next marker's first byte.
    static func sniff(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: [0xFF, 0xD8, 0xFF])
    }

    init(_ bytes: [UInt8]) {
        guard bytes.starts(with: [0xFF, 0xD8]) else { return }
        var offset = 2
        while offset + 1 < bytes.count {
            guard bytes[offset] == 0xFF else { return }
            let marker = bytes[offset + 1]
            if marker == 0xFF {  // a fill byte before the marker
                offset += 1
                continue
            }
            offset += 2
            if Self.standsAlone(marker) { continue }
            guard marker != 0xD9, offset + 2 <= bytes.count else { return }  // EOI, or cut off
            let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            guard length >= 2, offset + length <= bytes.count else { return }
            let payload = bytes[(offset + 2)..<(offset + length)]
            if marker == 0xDA { return }  // SOS: the image data starts
            record(marker, payload)
            offset += length
        }
    }

    /// Markers with no length field: TEM, RST0 to RST7 and SOI.
    private static func standsAlone(_ marker: UInt8) -> Bool {
        marker == 0x01 || (0xD0...0xD8).contains(marker)
    }

    private mutating func record(_ marker: UInt8, _ payload: ArraySlice<UInt8>) {
        let isFrame = (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker)
        if isFrame, frameSize == nil, payload.count >= 5 {
            let base = payload.startIndex
            let height = Int(payload[base + 1]) << 8 | Int(payload[base + 2])
            let width = Int(payload[base + 3]) << 8 | Int(payload[base + 4])
            frameSize = (width, height)
        }
        if marker == 0xE1, exif == nil, payload.starts(with: Array("Exif\0".utf8)) {
            exif = payload
        }
    }
}
