import Testing
import TestSupport
@testable import Core

@Suite("decode_image holds a job's sides to one pixel budget, checked before any pixels")
struct JobPixelBudgetTests {
    /// Runs a pipeline of one `decode_image` step with `params` on `photos`.
    func decode(_ params: String, _ photos: [(Side, [UInt8])]) throws -> (Outcome, Request) {
        let config = try Fixtures.config("main: [decode]\npipelines:\n  decode:\n    - decode_image: \(params)\n")
        var request = Fixtures.request(photos)
        return (config.run(&request), request)
    }

    /// A PNG header claiming `width` x `height` gray pixels, with image data that is not there.
    func headerOnly(width: Int, height: Int) -> [UInt8] {
        BombPNG.signature + BombPNG.header(width: width, height: height)
            + TestPNG.chunk("IDAT", [0x78, 0x01]) + TestPNG.chunk("IEND", [])
    }

    @Test("three sides over max_job_pixels fail as too large, naming the total, each size and the limit")
    func overBudget() throws {
        let photo = Fixtures.gradientPNG(width: 40, height: 60)  // 2400 pixels
        let (outcome, request) = try decode("{max_pixels: 3000, max_job_pixels: 7000}",
                                            [(.front, photo), (.back, photo), (.left, photo)])
        guard case .failed(let failure) = outcome else {
            Issue.record("expected a failure, got \(outcome.status)")
            return
        }
        #expect(failure.stage == "decode/decode_image")
        #expect(failure.code == "image.too_large")
        #expect(failure.message == "the job's 3 photos have 7200 pixels together (front 40x60, back 40x60, left 40x60); the limit is 7000 (max_job_pixels)")
        #expect(request[ArtifactKey<Sided<Image>>("image")] == nil)
    }

    @Test("the budget is checked on the headers, before any side's image data is read")
    func checkedBeforeDecoding() throws {
        // Each header is within the per-side limits, but no image data follows: decoding any
        // side would fail as corrupt, so too_large shows that none was decoded. The default
        // budget, 120 million, is below the three sides' 150 million.
        let side = headerOnly(width: 10_000, height: 5_000)
        let (outcome, _) = try decode("{}", [(.front, side), (.back, side), (.top, side)])
        guard case .failed(let failure) = outcome else {
            Issue.record("expected a failure, got \(outcome.status)")
            return
        }
        #expect(failure.code == "image.too_large")
        #expect(failure.message.contains("150000000 pixels together"))
        #expect(failure.message.contains("the limit is 120000000 (max_job_pixels)"))
    }

    @Test("a side over its own limit is named before the job's total is")
    func sideLimitFirst() throws {
        let (outcome, _) = try decode("{max_width: 100}", [(.front, Fixtures.gradientPNG()),
                                                           (.back, headerOnly(width: 200, height: 10))])
        guard case .failed(let failure) = outcome else {
            Issue.record("expected a failure, got \(outcome.status)")
            return
        }
        #expect(failure.code == "image.too_large")
        #expect(failure.message.hasPrefix("back image: PNG over the limits: the image is 200x10 pixels"))
    }

    @Test("sides within the budget decode, and the trace records the budget used")
    func withinBudget() throws {
        let photo = Fixtures.gradientPNG(width: 40, height: 60)
        let (outcome, request) = try decode("{max_pixels: 3000, max_job_pixels: 4800}", [(.front, photo), (.back, photo)])
        #expect(outcome == .graded)
        #expect(request[ArtifactKey<Sided<Image>>("image")]?.count == 2)
        let (_, defaults) = try decode("{}", [(.front, photo)])
        #expect(defaults.trace.first?.params["max_job_pixels"] == .int(120_000_000))
    }

    @Test("a budget below one side's limit is a config error")
    func budgetBelowSideLimit() {
        let problems = Fixtures.problems("main: [decode]\npipelines:\n  decode:\n    - decode_image: {max_job_pixels: 1000}\n")
        #expect(problems == ["test.yaml:4:38: pipeline 'decode', step 1 (decode_image): param 'max_job_pixels': must be at least max_pixels (50000000), not 1000"])
    }
}
