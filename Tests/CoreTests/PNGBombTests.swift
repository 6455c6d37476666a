import CPNG
import Foundation
import Testing
import TestSupport
@testable import Core

@Suite("PNG bombs are refused quickly, without the memory or time they ask for")
struct PNGBombTests {
    /// Decodes through the shim, returning the error message (nil on success) and the largest
    /// block libpng asked for.
    func decodeThroughShim(_ bytes: [UInt8]) -> (error: String?, largestAllocation: Int) {
        bytes.withUnsafeBufferPointer { buffer in
            let decoder = cpng_decoder_create(buffer.baseAddress, buffer.count)!
            defer { cpng_decoder_destroy(decoder) }
            var info = cpng_info()
            var status = cpng_decoder_read_info(decoder, 10_000, 10_000, &info)
            if status == 0 {
                var pixels = [UInt8](repeating: 0, count: Int(info.width) * Int(info.height) * 3)
                status = cpng_decoder_read_rgb8(decoder, &pixels, pixels.count)
            }
            let error = status == 0 ? nil : String(cString: cpng_decoder_error(decoder))
            return (error, cpng_decoder_largest_allocation(decoder))
        }
    }

    /// Seconds that `body` takes.
    func seconds(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    func expectCorrupt(_ bytes: [UInt8], containing text: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let image = try PNG.decode(bytes)
            Issue.record("decoded a \(image.width)x\(image.height) image instead of refusing it",
                         sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .corrupt, "\(error)", sourceLocation: sourceLocation)
            #expect(error.reason.contains(text), "reason: \(error.reason)", sourceLocation: sourceLocation)
        }
    }

    @Test("a metadata chunk whose length says 2 GiB is refused as truncated, with no large allocation",
          arguments: ["tEXt", "zTXt", "iTXt", "sPLT", "pCAL", "sCAL"])
    func hugeChunkLength(type: String) {
        let bytes = BombPNG.hugeChunk(type)
        #expect(bytes.count < 120)
        var result: (error: String?, largestAllocation: Int) = (nil, 0)
        let elapsed = seconds { result = decodeThroughShim(bytes) }
        #expect(result.error?.contains("truncated: the '\(type)' chunk at byte 33 says it holds 2147483647 bytes") == true,
                "error: \(result.error ?? "none")")
        #expect(result.largestAllocation < 1 << 20, "libpng asked for \(result.largestAllocation) bytes at once")
        #expect(elapsed < 2)
        expectCorrupt(bytes, containing: "'\(type)' chunk")
    }

    @Test("a real 6 MB text chunk is skipped unread: the image decodes and nothing large is allocated")
    func largeTextChunkSkipped() throws {
        var png = TestPNG(width: 2, height: 2, bitDepth: 8, colorType: 0, samples: [1, 2, 3, 4])
        png.extraChunks = [("tEXt", Array("Comment\u{0}".utf8) + [UInt8](repeating: 65, count: 6 << 20))]
        let bytes = png.encode()
        let result = decodeThroughShim(bytes)
        #expect(result.error == nil)
        #expect(result.largestAllocation < 1 << 20, "libpng asked for \(result.largestAllocation) bytes at once")
        #expect(try PNG.decode(bytes).pixels == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4])
    }

    @Test("a 1x1 image whose zlib stream goes on with 1.3 GB of zeros is refused within seconds",
          arguments: [1 << 16, 1 << 30])
    func zerosAfterTheRows(idatSize: Int) {
        // 8 MB of deflate data that inflates to 1.3 GB; before the fix it was inflated in full
        // and then decoded, since its checksum is right.
        let bytes = BombPNG.inflatingPast(width: 1, height: 1, zeros: 1_300_000_000, idatSize: idatSize)
        #expect(bytes.count > 8_000_000)
        let elapsed = seconds { expectCorrupt(bytes, containing: "image data goes on after the last row") }
        #expect(elapsed < 5)
    }

    @Test("an interlaced or larger image with zeros after its rows is refused too")
    func zerosAfterInterlacedOrLargerImage() {
        expectCorrupt(BombPNG.inflatingPast(width: 1, height: 1, zeros: 200_000_000, interlaced: true),
                      containing: "after the last row")
        expectCorrupt(BombPNG.inflatingPast(width: 300, height: 200, zeros: 200_000_000),
                      containing: "after the last row")
    }

    @Test("a second zlib stream after the first one's end is refused")
    func secondStreamAfterTheEnd() {
        expectCorrupt(BombPNG.trailingStream(zeros: 200_000_000), containing: "after the last row")
    }

    @Test("a few zeros past the rows, within the slack, still decode")
    func smallSlackAccepted() throws {
        let image = try PNG.decode(BombPNG.inflatingPast(width: 3, height: 2, zeros: 1000))
        #expect(image.pixels == [UInt8](repeating: 77, count: 18))
    }

    @Test("a file of more than 100000 chunks is refused before libpng walks them")
    func tooManyChunks() {
        // 64 MiB of empty chunks took libpng over a second; this is the same at 1.2 MB.
        let bytes = BombPNG.signature + BombPNG.header(width: 1, height: 1)
            + TestPNG.chunk("tIME", []).repeated(100_000)
            + TestPNG.chunk("IDAT", TestPNG.zlibStored([0, 77])) + TestPNG.chunk("IEND", [])
        expectCorrupt(bytes, containing: "more than 100000 chunks")
    }

    @Test("a zlib bomb fails its job at decode_image: the job is not graded")
    func bombFailsTheJob() throws {
        let config = try Fixtures.config(Fixtures.basicYAML)
        var request = Fixtures.request([(.front, BombPNG.inflatingPast(width: 40, height: 60, zeros: 400_000_000))])
        guard case .failed(let failure) = config.run(&request) else {
            Issue.record("the bomb was not a failure")
            return
        }
        #expect(failure.stage == "decode/decode_image")
        #expect(failure.code == "image.corrupt")
        #expect(failure.message.contains("front image"))
    }
}
