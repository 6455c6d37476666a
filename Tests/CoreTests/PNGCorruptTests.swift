import Testing
import TestSupport
@testable import Core

@Suite("Corrupt and oversized PNGs are typed errors, never crashes")
struct PNGCorruptTests {
    /// A valid 64x48 RGB PNG to damage.
    static let valid: [UInt8] = {
        var random = SplitMix64(state: 42)
        return TestPNG(width: 64, height: 48, bitDepth: 8, colorType: 2,
                       samples: (0..<(64 * 48 * 3)).map { _ in random.below(256) },
                       extraChunks: [("tEXt", Array("Comment\u{0}kiosk".utf8))]).encode()
    }()

    /// The offset of the first chunk of `type`.
    static func chunkOffset(_ type: String, in bytes: [UInt8]) -> Int {
        var offset = 8
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            if String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self) == type { return offset }
            offset += 12 + length
        }
        return -1
    }

    func expectError(_ bytes: [UInt8], _ code: CodecError.Code, containing text: String? = nil,
                     limits: ImageLimits = .default, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let image = try PNG.decode(bytes, limits: limits)
            Issue.record("decoded a \(image.width)x\(image.height) image instead of failing",
                         sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(!error.reason.isEmpty, sourceLocation: sourceLocation)
            if let text {
                #expect(error.reason.lowercased().contains(text.lowercased()), "reason: \(error.reason)",
                        sourceLocation: sourceLocation)
            }
        }
    }

    @Test("the damaged-file fixture itself decodes")
    func validFixtureDecodes() throws {
        #expect(try PNG.decode(Self.valid).width == 64)
    }

    @Test("bytes that are not a PNG say the signature is missing")
    func notAPNG() {
        expectError(Array("GIF89a, not a PNG at all".utf8), .corrupt, containing: "signature")
        expectError([], .corrupt, containing: "signature")
    }

    @Test("a file truncated anywhere is a corrupt error", arguments: [9, 20, 33, 60, 500, 4000, -12, -1])
    func truncated(at cut: Int) {
        let length = cut > 0 ? cut : Self.valid.count + cut
        expectError(Array(Self.valid.prefix(length)), .corrupt)
    }

    @Test("a bad CRC in IHDR, IDAT or an ancillary chunk is a corrupt error naming CRC",
          arguments: ["IHDR", "IDAT", "tEXt"])
    func badCRC(in chunk: String) {
        var bytes = Self.valid
        let offset = Self.chunkOffset(chunk, in: bytes)
        let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        bytes[offset + 8 + length] ^= 0x5a  // first byte of the chunk's CRC
        expectError(bytes, .corrupt, containing: "crc")
    }

    @Test("damaged compressed data with a correct CRC is a corrupt error")
    func badZlibData() {
        var png = TestPNG(width: 8, height: 8, bitDepth: 8, colorType: 0, samples: Array(repeating: 7, count: 64))
        png.extraChunks = []
        var bytes = png.encode()
        let offset = Self.chunkOffset("IDAT", in: bytes)
        let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        bytes[offset + 8] = 0x00  // an invalid zlib header
        let crc = TestPNG.crc32(Array(bytes[(offset + 4)..<(offset + 8 + length)]))
        bytes.replaceSubrange((offset + 8 + length)..<(offset + 12 + length), with: TestPNG.bigEndian(Int(crc)))
        expectError(bytes, .corrupt)
    }

    @Test("a header claiming 100000x100000 pixels is refused before any pixel memory is taken")
    func hugeDimensions() {
        // 30 GB of RGB if it were allocated; the test would crash or crawl.
        var bytes: [UInt8] = Array(Self.valid.prefix(8))
        bytes += TestPNG.chunk("IHDR", TestPNG.bigEndian(100_000) + TestPNG.bigEndian(100_000) + [8, 2, 0, 0, 0])
        bytes += TestPNG.chunk("IEND", [])
        expectError(bytes, .tooLarge, containing: "100000x100000")
    }

    @Test("width, height, pixel count and file size limits are each enforced")
    func eachLimit() {
        let image = Self.valid  // 64x48
        expectError(image, .tooLarge, containing: "limit is 32x1000",
                    limits: ImageLimits(maxWidth: 32, maxHeight: 1000, maxPixels: 1 << 30, maxBytes: 1 << 30))
        expectError(image, .tooLarge, containing: "limit is 1000x40",
                    limits: ImageLimits(maxWidth: 1000, maxHeight: 40, maxPixels: 1 << 30, maxBytes: 1 << 30))
        expectError(image, .tooLarge, containing: "3072 pixels",
                    limits: ImageLimits(maxWidth: 1000, maxHeight: 1000, maxPixels: 3000, maxBytes: 1 << 30))
        expectError(image, .tooLarge, containing: "bytes",
                    limits: ImageLimits(maxWidth: 1000, maxHeight: 1000, maxPixels: 1 << 30, maxBytes: 100))
    }
}
