/// Hostile PNGs, built byte by byte with correct CRCs: chunks whose length field lies, and
/// image data that inflates far past what the rows need.
public enum BombPNG {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The IHDR chunk of a `width` x `height` 8-bit gray image.
    public static func header(width: Int, height: Int, interlaced: Bool = false) -> [UInt8] {
        TestPNG.chunk("IHDR", TestPNG.bigEndian(width) + TestPNG.bigEndian(height)
                      + [8, 0, 0, 0, interlaced ? 1 : 0])
    }

    /// A plausible start of each metadata chunk whose length a bomb can inflate.
    public static let chunkStarts: [String: [UInt8]] = [
        "tEXt": Array("Comment\u{0}kiosk 7".utf8),
        "zTXt": Array("Comment\u{0}\u{0}".utf8) + [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        "iTXt": Array("Comment\u{0}\u{0}\u{0}en\u{0}\u{0}kiosk".utf8),
        "sPLT": Array("palette\u{0}".utf8) + [8, 10, 20, 30, 255, 0, 1],
        "pCAL": Array("depth\u{0}".utf8) + TestPNG.bigEndian(0) + TestPNG.bigEndian(255) + [0, 1] + Array("m\u{0}1".utf8),
        "sCAL": [1] + Array("0.0001\u{0}0.0001".utf8),
    ]

    /// A 1x1 gray PNG with a `type` chunk whose length field says 0x7FFFFFFF (2 GiB) while
    /// only a few bytes follow, then valid image data.
    public static func hugeChunk(_ type: String) -> [UInt8] {
        let data = chunkStarts[type] ?? Array("bomb".utf8)
        let typeBytes = Array(type.utf8)
        var file = signature + header(width: 1, height: 1)
        file += TestPNG.bigEndian(0x7FFF_FFFF) + typeBytes + data
        file += TestPNG.bigEndian(Int(TestPNG.crc32(typeBytes + data)))
        file += TestPNG.chunk("IDAT", TestPNG.zlibStored([0, 128]))
        return file + TestPNG.chunk("IEND", [])
    }

    /// A gray image whose one zlib stream holds its rows (every pixel `value`) and then
    /// `zeros` more zero bytes, with a correct checksum, split into IDAT chunks of `idatSize`.
    public static func inflatingPast(width: Int, height: Int, zeros: Int, idatSize: Int = 1 << 16,
                              interlaced: Bool = false) -> [UInt8] {
        precondition(!interlaced || width * height == 1, "Adam7 rows are written for 1x1 only")
        let rows = (0..<height).flatMap { _ in [0] + [UInt8](repeating: 77, count: width) }
        var stream = ZlibWriter()
        stream.literals(rows)
        stream.zeros(zeros)
        return signature + header(width: width, height: height, interlaced: interlaced)
            + idat(stream.finish(), size: idatSize) + TestPNG.chunk("IEND", [])
    }

    /// A 1x1 gray image whose zlib stream ends after its row, followed by IDAT chunks holding
    /// a second stream of `zeros` zero bytes.
    public static func trailingStream(zeros: Int) -> [UInt8] {
        var trailing = ZlibWriter()
        trailing.zeros(zeros)
        return signature + header(width: 1, height: 1)
            + TestPNG.chunk("IDAT", TestPNG.zlibStored([0, 77]))
            + idat(trailing.finish(), size: 1 << 16) + TestPNG.chunk("IEND", [])
    }

    /// `stream` cut into IDAT chunks of at most `size` bytes.
    public static func idat(_ stream: [UInt8], size: Int) -> [UInt8] {
        stride(from: 0, to: stream.count, by: size).flatMap { start in
            TestPNG.chunk("IDAT", Array(stream[start..<min(start + size, stream.count)]))
        }
    }
}

/// A zlib stream of one fixed-Huffman deflate block: literals, then runs of zeros said as
/// copies of length 258 at distance 1, 13 bits each (a ratio near 160:1 per match).
public struct ZlibWriter {
    private var bytes: [UInt8] = [0x78, 0x01]
    private var bitBuffer: UInt32 = 0
    private var bitCount = 0
    private var adlerA: UInt32 = 1
    private var adlerB: UInt32 = 0
    private var lastByte: UInt8?

    public init() {
        write(1, bits: 1)  // BFINAL
        write(1, bits: 2)  // BTYPE 01: fixed Huffman codes
    }

    /// Appends `values` as literals.
    public mutating func literals(_ values: [UInt8]) {
        for value in values {
            // Fixed codes: 0-143 are 8 bits from 0x30, 144-255 are 9 bits from 0x190.
            if value < 144 { huffman(0x30 + UInt32(value), bits: 8) } else { huffman(0x190 + UInt32(value) - 144, bits: 9) }
            adlerA = (adlerA + UInt32(value)) % 65_521
            adlerB = (adlerB + adlerA) % 65_521
            lastByte = value
        }
    }

    /// Appends `count` zero bytes, mostly as 258-byte copies of the byte before.
    public mutating func zeros(_ count: Int) {
        var left = count
        if lastByte != 0, left > 0 {
            literals([0])
            left -= 1
        }
        var matches = left / 258
        // Adler-32 of a run of zeros: A stays, B grows by A per byte.
        adlerB = UInt32((UInt64(adlerB) + UInt64(matches * 258) * UInt64(adlerA)) % 65_521)
        // Eight matches are 104 bits, 13 whole bytes: once aligned, repeat them as bytes.
        while matches > 0, bitCount != 0 {
            match258()
            matches -= 1
        }
        if matches >= 8 {
            var block = ZlibWriter.bare()
            for _ in 0..<8 { block.match258() }
            bytes += [UInt8](block.bytes).repeated(matches / 8)
            matches %= 8
        }
        for _ in 0..<matches { match258() }
        literals([UInt8](repeating: 0, count: left % 258))
    }

    /// Ends the block and appends the Adler-32 checksum.
    public mutating func finish() -> [UInt8] {
        huffman(0, bits: 7)  // end of block, symbol 256
        if bitCount > 0 { write(0, bits: 8 - bitCount) }
        return bytes + TestPNG.bigEndian(Int(adlerB << 16 | adlerA))
    }

    /// A writer with no zlib header and no block header, for a run of whole-byte matches.
    private static func bare() -> ZlibWriter {
        var writer = ZlibWriter()
        writer.bytes = []
        writer.bitBuffer = 0
        writer.bitCount = 0
        return writer
    }

    /// Length 258 (symbol 285, 8 bits from 0xC0) at distance 1 (distance code 0, 5 bits).
    private mutating func match258() {
        huffman(0xC5, bits: 8)
        huffman(0, bits: 5)
        lastByte = 0
    }

    /// Huffman codes go most significant bit first into deflate's LSB-first bit stream.
    private mutating func huffman(_ code: UInt32, bits: Int) {
        for shift in stride(from: bits - 1, through: 0, by: -1) { write(code >> shift & 1, bits: 1) }
    }

    private mutating func write(_ value: UInt32, bits: Int) {
        bitBuffer |= value << bitCount
        bitCount += bits
        while bitCount >= 8 {
            bytes.append(UInt8(bitBuffer & 0xff))
            bitBuffer >>= 8
            bitCount -= 8
        }
    }
}

extension Array {
    /// The array's elements, `count` times over.
    public func repeated(_ count: Int) -> [Element] {
        var out: [Element] = []
        out.reserveCapacity(self.count * count)
        for _ in 0..<count { out += self }
        return out
    }
}
