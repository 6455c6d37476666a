/// A PNG writer written for the tests alone, independent of libpng, so that the decoder is
/// checked against files and pixels that the tests compute themselves.
///
/// It writes every colour type and bit depth, Adam7 interlacing, palettes with tRNS, and
/// extra chunks; the zlib stream uses stored (uncompressed) blocks.
public struct TestPNG {
    public var width: Int
    public var height: Int
    public var bitDepth: Int
    /// 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA.
    public var colorType: Int
    /// Samples row by row, `channels` per pixel (palette: one index per pixel).
    public var samples: [Int]
    public var palette: [(UInt8, UInt8, UInt8)] = []
    /// The tRNS chunk's values: palette alphas, one gray value, or R, G, B.
    public var transparency: [Int]?
    public var interlaced = false
    /// Chunks written after IHDR, as (type, data).
    public var extraChunks: [(String, [UInt8])] = []

    public init(width: Int, height: Int, bitDepth: Int, colorType: Int, samples: [Int],
                palette: [(UInt8, UInt8, UInt8)] = [], transparency: [Int]? = nil, interlaced: Bool = false,
                extraChunks: [(String, [UInt8])] = []) {
        self.width = width
        self.height = height
        self.bitDepth = bitDepth
        self.colorType = colorType
        self.samples = samples
        self.palette = palette
        self.transparency = transparency
        self.interlaced = interlaced
        self.extraChunks = extraChunks
    }

    public var channels: Int {
        switch colorType {
        case 0, 3: 1
        case 2: 3
        case 4: 2
        default: 4
        }
    }

    public func sample(x: Int, y: Int, c: Int) -> Int { samples[(y * width + x) * channels + c] }

    public func encode() -> [UInt8] {
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = Self.bigEndian(width) + Self.bigEndian(height)
        header += [UInt8(bitDepth), UInt8(colorType), 0, 0, interlaced ? 1 : 0]
        file += Self.chunk("IHDR", header)
        for (type, data) in extraChunks { file += Self.chunk(type, data) }
        if colorType == 3 {
            file += Self.chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] })
        }
        if let transparency {
            let data: [UInt8] = colorType == 3
                ? transparency.map { UInt8($0) }
                : transparency.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
            file += Self.chunk("tRNS", data)
        }
        file += Self.chunk("IDAT", Self.zlibStored(scanlines()))
        file += Self.chunk("IEND", [])
        return file
    }

    /// The filtered (filter type 0) scanlines of every pass.
    private func scanlines() -> [UInt8] {
        let passes: [(Int, Int, Int, Int)] = interlaced
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        var out: [UInt8] = []
        for (x0, y0, dx, dy) in passes {
            let xs = Array(stride(from: x0, to: width, by: dx))
            let ys = Array(stride(from: y0, to: height, by: dy))
            if xs.isEmpty || ys.isEmpty { continue }
            for y in ys {
                out.append(0)
                out += packRow(xs.flatMap { x in (0..<channels).map { sample(x: x, y: y, c: $0) } })
            }
        }
        return out
    }

    private func packRow(_ values: [Int]) -> [UInt8] {
        switch bitDepth {
        case 16: return values.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
        case 8: return values.map { UInt8($0) }
        default:
            var bytes: [UInt8] = []
            var current = 0, used = 0
            for value in values {
                current = current << bitDepth | value
                used += bitDepth
                if used == 8 {
                    bytes.append(UInt8(current))
                    current = 0
                    used = 0
                }
            }
            if used > 0 { bytes.append(UInt8(current << (8 - used))) }
            return bytes
        }
    }

    public static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(data.count) + typeBytes + data + bigEndian(Int(crc32(typeBytes + data)))
    }

    public static func bigEndian(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        bytes.withUnsafeBufferPointer { buffer in
            for byte in buffer { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        }
        return crc ^ 0xffff_ffff
    }

    /// The CRC-32 of each byte value, a table so that the bomb tests' megabytes check quickly.
    private static let crcTable: [UInt32] = (0..<256).map { value in
        var crc = UInt32(value)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        return crc
    }

    /// A zlib stream of stored deflate blocks.
    public static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out += [final, UInt8(length & 0xff), UInt8(length >> 8),
                    UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff)]
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return out + bigEndian(Int(b << 16 | a))
    }
}

/// A small deterministic generator, so that test images are the same on every run.
public struct SplitMix64 {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
