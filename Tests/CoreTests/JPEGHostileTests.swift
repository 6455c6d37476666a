import CJPEG
import Foundation
import Testing
@testable import Core

@Suite("Damaged and hostile JPEGs are refused quickly, naming what was wrong")
struct JPEGHostileTests {
    /// Seconds that `body` takes.
    func seconds(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// The error `JPEG.decode` throws, or nil (recorded as an issue) when it decodes.
    func decodeError(_ bytes: [UInt8], limits: ImageLimits = .default,
                     sourceLocation: SourceLocation = #_sourceLocation) -> CodecError? {
        do {
            let image = try JPEG.decode(bytes, limits: limits)
            Issue.record("decoded a \(image.width)x\(image.height) image instead of failing", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// Runs the shim directly: the error (nil on success) and the scans libjpeg started.
    func decodeThroughShim(_ bytes: [UInt8], maxScans: Int32 = Int32(JPEG.maxScans),
                           maxMemory: Int? = nil) -> (error: String?, scans: Int) {
        bytes.withUnsafeBufferPointer { buffer in
            let decoder = cjpeg_decoder_create(buffer.baseAddress, buffer.count, maxScans)!
            defer { cjpeg_decoder_destroy(decoder) }
            var info = cjpeg_info()
            var status = cjpeg_decoder_read_header(decoder, &info)
            if status == 0 {
                var pixels = [UInt8](repeating: 0, count: Int(info.width) * Int(info.height) * 3)
                status = cjpeg_decoder_read_rgb8(decoder, &pixels, pixels.count, maxMemory ?? info.memory_needed)
            }
            let error = status == 0 ? nil : String(cString: cjpeg_decoder_error(decoder))
            return (error, Int(cjpeg_decoder_scans(decoder)))
        }
    }

    @Test("a few hundred bytes claiming 60000x60000 fail fast as too large, naming the size and the limit")
    func hugeHeader() throws {
        let bytes = CraftedJPEG.headerOnly(width: 60000, height: 60000)
        #expect(bytes.count < 300)
        var error: CodecError?
        let elapsed = seconds { error = decodeError(bytes) }
        #expect(error == CodecError(.tooLarge, "the image is 60000x60000 pixels; the limit is 10000x10000"))
        #expect(elapsed < 0.5)
        // libjpeg reads the same header without allocating for pixels; the size is what it says.
        let header = try JPEG.header(bytes)
        #expect((header.width, header.height, header.components) == (60000, 60000, 3))
        // Cut right after the frame header, the file is still refused for its size, not as truncated.
        let cut = Array(bytes.prefix(2 + 69 + 19))
        #expect(decodeError(cut)?.reason.contains("60000x60000") == true)
    }

    @Test("max_pixels, max_bytes and the upright size are checked before decoding")
    func otherLimits() throws {
        let wide = CraftedJPEG.headerOnly(width: 9000, height: 9000)
        #expect(decodeError(wide) == CodecError(.tooLarge, "the image has 81000000 pixels (9000x9000); the limit is 50000000"))
        let small = try Fixtures.jpeg("baseline_420")
        #expect(decodeError(small, limits: ImageLimits(maxWidth: 100, maxHeight: 100, maxPixels: 100, maxBytes: 1 << 20))?.reason
                == "the image has 4081 pixels (77x53); the limit is 100")
        #expect(decodeError(small, limits: ImageLimits(maxWidth: 100, maxHeight: 100, maxPixels: 10000, maxBytes: 100))?.reason
                == "the file has \(small.count) bytes; the limit is 100")
        // Stored 64x48 on its side: upright it is 48x64, which a 50-wide limit accepts.
        let turned = try Fixtures.jpeg("orientation_6")
        let narrow = ImageLimits(maxWidth: 50, maxHeight: 64, maxPixels: 10000, maxBytes: 1 << 20)
        #expect(try JPEG.decode(turned, limits: narrow).width == 48)
        #expect(decodeError(try Fixtures.jpeg("orientation_1"), limits: narrow)?.code == .tooLarge)
    }

    @Test("a truncated JPEG is a corrupt error that says it is truncated",
          arguments: ["truncated_in_scan", "truncated_progressive", "truncated_in_header", "truncated_no_eoi"])
    func truncated(name: String) throws {
        let error = decodeError(try Fixtures.jpeg(name))
        #expect(error?.code == .corrupt)
        #expect(error?.reason.hasPrefix("truncated: the file ends before its image data does") == true, "\(String(describing: error))")
    }

    @Test("damage libjpeg only warns about is an error, with libjpeg's words",
          arguments: [("corrupt_scan_data", "Corrupt JPEG data: 32 extraneous bytes before marker 0xd9"),
                      ("corrupt_restart_marker", "Corrupt JPEG data: found marker 0xd5 instead of RST1"),
                      ("corrupt_early_eoi", "Corrupt JPEG data: premature end of data segment"),
                      ("corrupt_no_frame", "JPEG datastream contains no image")])
    func corrupt(name: String, message: String) throws {
        #expect(decodeError(try Fixtures.jpeg(name)) == CodecError(.corrupt, message))
    }

    @Test("bytes that are not a JPEG, or none, are a corrupt error")
    func notAJPEG() {
        #expect(decodeError(Array("GIF89a, not a JPEG".utf8)) == CodecError(.corrupt, "Not a JPEG file: starts with 0x47 0x49"))
        #expect(decodeError([])?.code == .corrupt)
        #expect(decodeError([0xFF, 0xD8])?.reason.hasPrefix("truncated") == true)
    }

    @Test("a progressive JPEG of 5000 scans stops at the scan limit, quickly")
    func scanBomb() {
        let bomb = CraftedJPEG.scanBomb(acScans: 5000)
        #expect(bomb.count < 70_000)
        var error: CodecError?
        let elapsed = seconds { error = decodeError(bomb) }
        #expect(error == CodecError(.corrupt, "the file has more than 1000 scans; progressive encoders write about 10, so it is refused (each scan costs a pass over the whole image)"))
        #expect(elapsed < 5, "took \(elapsed) s")
        #expect(decodeThroughShim(bomb).scans == 1001)
        // The same construction under the limit is a valid image: the limit is what stopped it.
        let image = try? JPEG.decode(CraftedJPEG.scanBomb(acScans: 900))
        #expect(image.map { ($0.width, $0.height) } ?? (0, 0) == (1024, 1024))
        #expect(image?.pixels.allSatisfy { $0 == 128 } == true)
    }

    @Test("libjpeg may take no more memory than the header says the image needs")
    func memoryCap() throws {
        // 1024x1024 gray, progressive: its coefficients take 16384 blocks of 128 bytes, 2 MiB.
        let progressive = CraftedJPEG.scanBomb(acScans: 1)
        #expect(decodeThroughShim(progressive).error == nil)
        let capped = decodeThroughShim(progressive, maxMemory: 1 << 20)
        #expect(capped.error?.hasPrefix("the image needs more decoder memory than its size allows (1048576 bytes") == true,
                "\(capped.error ?? "no error")")
        // A 10000x5000 progressive header asks for its coefficient buffer, 128 bytes per block.
        let header = CraftedJPEG.start + CraftedJPEG.quantTable
            + CraftedJPEG.frame(0xC2, width: 10000, height: 5000, components: 3)
            + CraftedJPEG.dcTable + CraftedJPEG.scan(components: 3, ss: 0, se: 0)
        header.withUnsafeBufferPointer { buffer in
            let decoder = cjpeg_decoder_create(buffer.baseAddress, buffer.count, 1000)!
            defer { cjpeg_decoder_destroy(decoder) }
            var info = cjpeg_info()
            #expect(cjpeg_decoder_read_header(decoder, &info) == 0)
            #expect(info.memory_needed == 3 * 1250 * 625 * 128 + (32 << 20))
        }
    }
}
