/// JPEGs written byte by byte for the hostile-file tests: a header that claims a huge size in a
/// few hundred bytes, and a valid progressive file made of thousands of scans.
enum CraftedJPEG {
    static let start: [UInt8] = [0xFF, 0xD8]
    static let end: [UInt8] = [0xFF, 0xD9]

    static func bigEndian16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    /// A marker segment: FF, the marker, a length that counts itself, the payload.
    static func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [0xFF, marker] + bigEndian16(payload.count + 2) + payload
    }

    /// Quantisation table 0, all ones.
    static let quantTable = segment(0xDB, [0x00] + [UInt8](repeating: 1, count: 64))
    /// Huffman DC table 0 with one 1-bit code ('0') for category 0: every DC difference is 0.
    static let dcTable = segment(0xC4, [0x00, 1] + [UInt8](repeating: 0, count: 15) + [0x00])
    /// Huffman AC table 0 with one 1-bit code ('0') for EOB14: a run of 2^14 + 14 bits of empty blocks.
    static let acTable = segment(0xC4, [0x10, 1] + [UInt8](repeating: 0, count: 15) + [0xE0])

    /// A frame header (SOF0 baseline, SOF2 progressive), every component 1x1 with table 0.
    static func frame(_ marker: UInt8, width: Int, height: Int, components: Int) -> [UInt8] {
        var payload: [UInt8] = [8] + bigEndian16(height) + bigEndian16(width) + [UInt8(components)]
        for id in 1...components { payload += [UInt8(id), 0x11, 0x00] }
        return segment(marker, payload)
    }

    /// A scan header over `components` components (ids from 1), coefficients `ss` to `se`.
    static func scan(components: Int, ss: UInt8, se: UInt8) -> [UInt8] {
        var payload: [UInt8] = [UInt8(components)]
        for id in 1...components { payload += [UInt8(id), 0x00] }
        return segment(0xDA, payload + [ss, se, 0x00])
    }

    /// A baseline YCbCr header claiming `width` x `height`, up to its first scan header, and no
    /// image data: a few hundred bytes.
    static func headerOnly(width: Int, height: Int) -> [UInt8] {
        start + quantTable + frame(0xC0, width: width, height: height, components: 3)
            + dcTable + acTable + scan(components: 3, ss: 0, se: 63)
    }

    /// A valid progressive 1024x1024 gray JPEG: a DC scan (one '0' bit for each of its 16384
    /// blocks), then `scans` identical AC scans, each one EOB run over all blocks in 2 bytes.
    /// Repeating a first AC scan with Al = 0 is legal progression to libjpeg, and each one
    /// costs a pass over every block: about 12 bytes of file per pass.
    static func scanBomb(acScans scans: Int) -> [UInt8] {
        var bytes = start + quantTable + frame(0xC2, width: 1024, height: 1024, components: 1)
            + dcTable + acTable
        bytes += scan(components: 1, ss: 0, se: 0) + [UInt8](repeating: 0, count: 16384 / 8)
        let acScan = scan(components: 1, ss: 1, se: 63) + [0x00, 0x01]  // '0', fourteen 0 bits, pad
        for _ in 0..<scans { bytes += acScan }
        return bytes + end
    }
}
