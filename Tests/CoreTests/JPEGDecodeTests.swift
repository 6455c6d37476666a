import Foundation
import Inference
import Testing
@testable import Core

/// Tests/Fixtures/jpeg/ holds JPEGs and the pixels Pillow 9.4 decodes from them through the
/// same libjpeg-turbo (experiment/make_jpeg_fixtures.py); Gradeline must decode the same bytes.
@Suite("JPEG decoding matches Pillow, EXIF orientation included")
struct JPEGDecodeTests {
    static let parityFixtures = [
        "baseline_420", "baseline_422", "baseline_444", "progressive_420", "progressive_444", "gray",
        "gray_progressive", "restart_rows", "restart_blocks",
    ] + (1...8).map { "orientation_\($0)" }

    @Test("decoded pixels equal Pillow's exactly", arguments: parityFixtures)
    func parity(name: String) throws {
        let image = try JPEG.decode(try Fixtures.jpeg(name))
        let expected = try NPY.read(Fixtures.jpegFolder.appendingPathComponent("\(name).npy").path)
        #expect(expected.shape == [image.height, image.width, 3])
        guard expected.count == image.pixels.count else { return }
        let differing = zip(image.pixels, expected.data).filter { Float($0) != $1 }.count
        let largest = zip(image.pixels, expected.data).map { abs(Float($0) - $1) }.max() ?? 0
        #expect(differing == 0, "\(differing) of \(image.pixels.count) samples differ, by up to \(largest)")
    }

    @Test("each EXIF orientation is read, in either byte order, and turns the image upright",
          arguments: 1...8)
    func orientation(value: Int) throws {
        let bytes = try Fixtures.jpeg("orientation_\(value)")
        let header = try JPEG.header(bytes)
        #expect(header.orientation.rawValue == value)
        #expect((header.storedWidth, header.storedHeight) == (64, 48))
        let image = try JPEG.decode(bytes)
        #expect((image.width, image.height) == (value >= 5 ? (48, 64) : (64, 48)))
        #expect((header.width, header.height) == (image.width, image.height))
        // The stored pixels are those of orientation 1: turning them by hand gives the same.
        let stored = try JPEG.decode(try Fixtures.jpeg("orientation_1"))
        #expect(ExifOrientation(rawValue: value)!.apply(to: stored) == image)
    }

    @Test("a gray JPEG becomes RGB with equal channels")
    func grayToRGB() throws {
        let image = try JPEG.decode(try Fixtures.jpeg("gray"))
        #expect(image.format == .rgb8)
        let pixels = image.pixels
        let equal = (0..<image.pixelCount).allSatisfy { (i: Int) -> Bool in
            let r = pixels[3 * i], g = pixels[3 * i + 1], b = pixels[3 * i + 2]
            return r == g && g == b
        }
        #expect(equal)
    }

    @Test("a CMYK JPEG is refused as unsupported, saying so")
    func cmykRefused() throws {
        let bytes = try Fixtures.jpeg("cmyk")
        #expect(try JPEG.header(bytes).colorSpace == .cmyk)
        #expect(throws: CodecError(.unsupported, "the JPEG is CMYK (4 components, for print); only gray, YCbCr and RGB JPEGs are accepted")) {
            try JPEG.decode(bytes)
        }
    }

    // MARK: EXIF blocks, hostile ones included

    /// An APP1 payload: "Exif\0\0", then a TIFF header and IFD0 with `entries`, in one byte order.
    static func exif(bigEndian: Bool = false, ifdOffset: Int = 8, count: Int? = nil,
                     entries: [(tag: Int, type: Int, values: Int, value: Int)], trailing: [UInt8] = [0, 0, 0, 0]) -> ArraySlice<UInt8> {
        func int(_ value: Int, _ size: Int) -> [UInt8] {
            let little = (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
            return bigEndian ? little.reversed() : little
        }
        var bytes = Array("Exif\0\0".utf8) + (bigEndian ? [0x4D, 0x4D, 0x00, 0x2A] : [0x49, 0x49, 0x2A, 0x00])
        bytes += int(ifdOffset, 4) + int(count ?? entries.count, 2)
        for entry in entries {
            bytes += int(entry.tag, 2) + int(entry.type, 2) + int(entry.values, 4)
            bytes += entry.type == 3 || entry.type == 8 ? int(entry.value, 2) + [0, 0] : int(entry.value, 4)
        }
        return ArraySlice(bytes + trailing)
    }

    @Test("orientation is read as SHORT, LONG or signed, in both byte orders, the last entry winning")
    func exifReadsOrientation() {
        for bigEndian in [false, true] {
            #expect(ExifOrientation(exif: Self.exif(bigEndian: bigEndian, entries: [(0x0112, 3, 1, 6)])) == .rotate270)
            #expect(ExifOrientation(exif: Self.exif(bigEndian: bigEndian, entries: [(0x0112, 4, 1, 8)])) == .rotate90)
            #expect(ExifOrientation(exif: Self.exif(bigEndian: bigEndian, entries: [(0x0112, 8, 1, 3)])) == .rotate180)
            #expect(ExifOrientation(exif: Self.exif(bigEndian: bigEndian,
                                                    entries: [(0x010F, 2, 4, 0), (0x0112, 3, 1, 2), (0x0112, 3, 1, 5)])) == .transpose)
        }
    }

    @Test("a broken or hostile EXIF block means orientation 1, never a failure")
    func exifHostile() {
        let cases: [(String, ArraySlice<UInt8>?)] = [
            ("no block", nil),
            ("empty", []),
            ("only the prefix", ArraySlice(Array("Exif\0\0".utf8))),
            ("Exif\\0 without the second zero", ArraySlice(Array("Exif\0X".utf8) + [0x49, 0x49, 0x2A, 0, 8, 0, 0, 0])),
            ("not a TIFF header", ArraySlice(Array("Exif\0\0GIF89a".utf8) + [UInt8](repeating: 0, count: 20))),
            ("IFD0 past the end", Self.exif(ifdOffset: 4000, entries: [(0x0112, 3, 1, 6)])),
            ("IFD0 at 0xFFFFFFFF", Self.exif(ifdOffset: 0xFFFF_FFFF, entries: [(0x0112, 3, 1, 6)])),
            ("IFD0 pointing at itself's header", Self.exif(ifdOffset: 0, entries: [(0x0112, 3, 1, 6)])),
            ("65535 entries claimed, none there", Self.exif(count: 65535, entries: [], trailing: [])),
            ("orientation 0", Self.exif(entries: [(0x0112, 3, 1, 0)])),
            ("orientation 9", Self.exif(entries: [(0x0112, 3, 1, 9)])),
            ("orientation 65535", Self.exif(entries: [(0x0112, 3, 1, 65535)])),
            ("two values", Self.exif(entries: [(0x0112, 3, 2, 6)])),
            ("an ASCII value", Self.exif(entries: [(0x0112, 2, 1, 6)])),
            ("a BYTE value", Self.exif(entries: [(0x0112, 1, 1, 6)])),
            ("negative SSHORT", Self.exif(entries: [(0x0112, 8, 1, 0xFFFA)])),
            ("cut inside the entry", Self.exif(entries: [(0x0112, 3, 1, 6)]).dropLast(7)),
        ]
        for (name, payload) in cases {
            #expect(ExifOrientation(exif: payload) == .normal, "\(name)")
        }
        // As in Pillow, entries read before the block is cut off still count.
        let cut = Self.exif(count: 40, entries: [(0x0112, 3, 1, 7)], trailing: [0x01, 0x02])
        #expect(ExifOrientation(exif: cut) == .transverse)
    }

    @Test("an APP1 segment whose length runs past the file is ignored by the marker walk")
    func exifSegmentPastTheEnd() throws {
        let valid = try Fixtures.jpeg("orientation_6")
        // Pillow writes JFIF's APP0, then the APP1 segment; make the latter's length claim 65535 bytes.
        let app1 = 4 + (Int(valid[4]) << 8 | Int(valid[5]))
        #expect(Array(valid[app1..<(app1 + 2)]) == [0xFF, 0xE1])
        var broken = valid
        broken[app1 + 2] = 0xFF
        broken[app1 + 3] = 0xFF
        #expect(JPEGMarkers(broken).exif == nil)
        #expect(JPEGMarkers(valid).exif != nil)
        #expect(JPEGMarkers(valid).frameSize?.width == 64)
    }

    // MARK: decode_image

    func decode(_ photos: [(Side, [UInt8])], contentType: String, params: String = "{}") throws -> (Outcome, Request) {
        let config = try Fixtures.config("main: [decode]\npipelines:\n  decode:\n    - decode_image: \(params)\n")
        var request = Fixtures.request(photos, contentType: contentType)
        return (config.run(&request), request)
    }

    @Test("decode_image decodes image/jpeg sides upright")
    func decodeImageReadsJPEG() throws {
        let (outcome, request) = try decode([(.front, try Fixtures.jpeg("baseline_420")),
                                             (.back, try Fixtures.jpeg("orientation_6"))], contentType: "image/jpeg")
        #expect(outcome == .graded, "\(outcome)")
        let images = try #require(request[ArtifactKey<Sided<Image>>("image")])
        #expect(images[.front].map { ($0.width, $0.height) } ?? (0, 0) == (77, 53))
        #expect(images[.back].map { ($0.width, $0.height) } ?? (0, 0) == (48, 64))
    }

    @Test("a content type that the bytes contradict is a clear failure naming the side",
          arguments: [("image/jpeg", "PNG"), ("image/png", "JPEG")])
    func contentTypeMismatch(declared: String, actual: String) throws {
        let png = Fixtures.gradientPNG(), jpeg = try Fixtures.jpeg("baseline_444")
        let (front, back) = actual == "PNG" ? (jpeg, png) : (png, jpeg)
        let (outcome, _) = try decode([(.front, front), (.back, back)], contentType: declared)
        guard case .failed(let failure) = outcome else {
            Issue.record("expected a failure, got \(outcome.status)")
            return
        }
        #expect(failure.code == "image.content_type_mismatch")
        #expect(failure.message == "back image: the content type is \(declared) but the bytes are a \(actual) (they start with its signature)")
    }

    @Test("a JPEG side counts toward max_job_pixels by its upright header size, before any decoding")
    func jobBudget() throws {
        let side = CraftedJPEG.headerOnly(width: 8000, height: 5000)  // 40 million, no image data
        let (outcome, _) = try decode([(.front, side), (.back, side), (.left, side), (.right, side)],
                                      contentType: "image/jpeg")
        guard case .failed(let failure) = outcome else {
            Issue.record("expected a failure, got \(outcome.status)")
            return
        }
        #expect(failure.code == "image.too_large")
        #expect(failure.message.contains("160000000 pixels together (front 8000x5000, back 8000x5000"))
    }
}
