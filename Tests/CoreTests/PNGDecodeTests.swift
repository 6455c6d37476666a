import Testing
import TestSupport
@testable import Core

/// One decode case: a colour type, a bit depth, interlacing and transparency.
struct PNGCase: CustomTestStringConvertible, Sendable {
    var colorType: Int
    var bitDepth: Int
    var interlaced: Bool
    var withTRNS = false

    var testDescription: String {
        "type \(colorType) depth \(bitDepth)\(interlaced ? " interlaced" : "")\(withTRNS ? " tRNS" : "")"
    }

    static let all: [PNGCase] = {
        let depths: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        var cases: [PNGCase] = []
        for colorType in [0, 2, 3, 4, 6] {
            for depth in depths[colorType]! {
                for interlaced in [false, true] {
                    cases.append(PNGCase(colorType: colorType, bitDepth: depth, interlaced: interlaced))
                    if [0, 2, 3].contains(colorType) {
                        cases.append(PNGCase(colorType: colorType, bitDepth: depth, interlaced: interlaced,
                                             withTRNS: true))
                    }
                }
            }
        }
        return cases
    }()

    /// A 13x11 image of seeded random samples: odd sizes exercise Adam7 passes and bit packing.
    func make() -> TestPNG {
        var random = SplitMix64(state: UInt64(colorType * 1000 + bitDepth * 10 + (interlaced ? 1 : 0)))
        let (width, height) = (13, 11)
        let maxSample = (1 << bitDepth) - 1
        var png = TestPNG(width: width, height: height, bitDepth: bitDepth, colorType: colorType, samples: [])
        if colorType == 3 {
            let entries = 1 << bitDepth
            png.palette = (0..<entries).map { _ in
                (UInt8(random.below(256)), UInt8(random.below(256)), UInt8(random.below(256)))
            }
            if withTRNS { png.transparency = (0..<max(1, entries / 2)).map { _ in random.below(256) } }
        }
        png.samples = (0..<(width * height * png.channels)).map { _ in random.below(maxSample + 1) }
        if withTRNS && colorType != 3 {
            // Make the transparent colour appear: it is the first pixel's.
            png.transparency = (0..<png.channels).map { png.samples[$0] }
        }
        png.interlaced = interlaced
        return png
    }
}

/// The RGB bytes the decoder must produce, computed from the PNG spec and the documented rules.
func expectedRGB(_ png: TestPNG) -> [UInt8] {
    let maxSample = (1 << png.bitDepth) - 1
    func to8(_ value: Int) -> Int {
        png.bitDepth == 16 ? Int((Double(value) / 257).rounded()) : value * 255 / maxSample
    }
    let hasAlpha = png.colorType == 4 || png.colorType == 6 || png.transparency != nil
    var out: [UInt8] = []
    for y in 0..<png.height {
        for x in 0..<png.width {
            let samples = (0..<png.channels).map { png.sample(x: x, y: y, c: $0) }
            var rgb: [Int]
            var alpha = 255
            switch png.colorType {
            case 0:
                rgb = Array(repeating: to8(samples[0]), count: 3)
                if let t = png.transparency, t[0] == samples[0] { alpha = 0 }
            case 2:
                rgb = samples.map(to8)
                if let t = png.transparency, t == samples { alpha = 0 }
            case 3:
                let entry = png.palette[samples[0]]
                rgb = [Int(entry.0), Int(entry.1), Int(entry.2)]
                if let t = png.transparency, samples[0] < t.count { alpha = t[samples[0]] }
            case 4:
                rgb = Array(repeating: to8(samples[0]), count: 3)
                alpha = to8(samples[1])
            default:
                rgb = samples[0..<3].map(to8)
                alpha = to8(samples[3])
            }
            if hasAlpha {
                rgb = rgb.map { ($0 * alpha + 255 * (255 - alpha) + 127) / 255 }
            }
            out += rgb.map { UInt8($0) }
        }
    }
    return out
}

@Suite("PNG decoding through libpng")
struct PNGDecodeTests {
    @Test("every colour type, bit depth and interlace decodes to the computed RGB pixels",
          arguments: PNGCase.all)
    func decodesToComputedPixels(_ testCase: PNGCase) throws {
        let png = testCase.make()
        let image = try PNG.decode(png.encode())
        #expect(image.width == png.width)
        #expect(image.height == png.height)
        #expect(image.format == .rgb8)
        let expected = expectedRGB(png)
        let mismatches = zip(image.pixels, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        let firstFew = mismatches.prefix(3).map { "byte \($0.offset): got \($0.element.0), want \($0.element.1)" }
        #expect(mismatches.count == 0, "\(firstFew)")
    }

    @Test("the header reports size, depth, colour type, interlace and alpha")
    func headerReportsTheIHDR() throws {
        var png = PNGCase(colorType: 3, bitDepth: 4, interlaced: true, withTRNS: true).make()
        png.width = 13
        let header = try PNG.header(png.encode())
        #expect(header == PNGHeader(width: 13, height: 11, bitDepth: 4, colorType: 3, interlaced: true,
                                    hasAlpha: true))
    }

    @Test("encoding then decoding returns the same gray and RGB pixels")
    func encodeRoundTrips() throws {
        var random = SplitMix64(state: 7)
        for format in [Image.Format.gray8, .rgb8] {
            let pixels = (0..<(17 * 9 * format.channels)).map { _ in UInt8(random.below(256)) }
            let image = Image(width: 17, height: 9, format: format, pixels: pixels)
            let decoded = try PNG.decode(PNG.encode(image))
            let expected = format == .rgb8 ? pixels : pixels.flatMap { [$0, $0, $0] }
            #expect(decoded.pixels == expected)
        }
    }
}
