import Foundation
import Testing
import TestSupport
@testable import Core

/// Each check fires on inputs made to fail it, and stays quiet on the good sample photos.
@Suite("Checker functions: exception data gets a rejection with its reason")
struct CheckerTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Runs one step on a Request holding `artifacts`; returns the rejection reasons.
    func reasons(_ step: String, _ artifacts: (inout Request) -> Void,
                 provided: [String: any Artifact.Type]) throws -> [Reason] {
        let config = try PipelineConfig.parse(yaml: "main: [p]\npipelines:\n  p:\n    - \(step)\n", file: "t.yaml",
                                              provided: provided)
        var request = Fixtures.request([(.front, Fixtures.gradientPNG())])
        artifacts(&request)
        switch config.run(&request) {
        case .rejected(let reasons): return reasons
        case .graded: return []
        case .failed(let failure): throw failure
        }
    }

    func image(_ width: Int, _ height: Int, _ pixel: (Int, Int) -> UInt8) -> Image {
        var pixels: [UInt8] = []
        for y in 0..<height { for x in 0..<width { let v = pixel(x, y); pixels += [v, v, v] } }
        return Image(width: width, height: height, format: .rgb8, pixels: pixels)
    }

    func imageReasons(_ step: String, _ image: Image) throws -> [Reason] {
        try reasons(step, { $0[ArtifactKey<Sided<Image>>("image")] = Sided([(.back, image)]) },
                    provided: ["image": Sided<Image>.self])
    }

    @Test("a missing required side is named")
    func missingSide() throws {
        let found = try reasons("check_sides: {required: [front, back]}", { _ in }, provided: [:])
        #expect(found == [Reason(code: "missing_side", side: .back, detail: "the job has no back photo; the kiosk must take one")])
    }

    @Test("too small or square photos are rejected with the measured size")
    func size() throws {
        let small = try imageReasons("check_size", image(100, 200) { _, _ in 100 })
        #expect(small.map(\.code) == ["resolution_too_low"])
        #expect(small.first?.detail == "the photo is 100x200; the minimum is 480x960")
        let square = try imageReasons("check_size", image(1000, 1000) { _, _ in 100 })
        #expect(square.map(\.code) == ["wrong_aspect_ratio"])
    }

    @Test("dark, over-exposed and glaring photos are rejected with the measured value and the threshold",
          arguments: [("too_dark", 10 as UInt8), ("overexposed", 230), ("glare", 0)])
    func exposure(code: String, level: UInt8) throws {
        // The glare photo is mid-gray with a saturated band over a fifth of it.
        let photo = image(60, 120) { _, y in code == "glare" ? (y < 24 ? 255 : 120) : level }
        let found = try imageReasons("check_exposure: {in: {image: image}}", photo)
        #expect(found.map(\.code) == [code])
        #expect(found.first?.side == .back)
    }

    @Test("a flat photo is blurred; a detailed one is not")
    func blur() throws {
        var random = SplitMix64(state: 3)
        #expect(try imageReasons("check_blur: {in: {image: image}}", image(60, 120) { _, _ in 128 }).map(\.code) == ["blurred"])
        #expect(try imageReasons("check_blur: {in: {image: image}}", image(60, 120) { _, _ in UInt8(random.below(256)) }).isEmpty)
    }

    @Test("the sample photos pass the shipped size, exposure and blur checks")
    func samplesPass() throws {
        for name in ["phone-01-front", "phone-02-back", "phone-03-front"] {
            let data = try #require(FileManager.default.contents(atPath: Self.repository.appendingPathComponent("samples/\(name).png").path))
            let photo = try PNG.decode([UInt8](data))
            for step in ["check_size", "check_exposure: {in: {image: image}}", "check_blur: {in: {image: image}}"] {
                #expect(try imageReasons(step, photo).isEmpty, "\(name) \(step)")
            }
        }
    }

    func mask(_ width: Int, _ height: Int, device: (Int, Int) -> Bool) -> Mask {
        var labels: [UInt8] = []
        for y in 0..<height { for x in 0..<width { labels.append(device(x, y) ? 1 : 0) } }
        return Mask(width: width, height: height, labels: labels, classes: ["background", "body"])
    }

    func maskReasons(_ mask: Mask) throws -> [Reason] {
        try reasons("check_device", { $0[ArtifactKey<Sided<Mask>>("mask")] = Sided([(.front, mask)]) },
                    provided: ["mask": Sided<Mask>.self])
    }

    @Test("no phone, a phone cut off by the border, and a framed phone")
    func device() throws {
        #expect(try maskReasons(mask(20, 40) { _, _ in false }).map(\.code) == ["no_phone"])
        #expect(try maskReasons(mask(20, 40) { x, _ in x >= 10 }).map(\.code) == ["phone_cut_off"])
        #expect(try maskReasons(mask(20, 40) { x, y in (3..<17).contains(x) && (3..<37).contains(y) }).isEmpty)
    }

    @Test("uniform logits are low confidence; decisive ones are not")
    func confidence() throws {
        func run(_ logits: [Float]) throws -> [Reason] {
            try reasons("check_confidence", {
                $0[ArtifactKey<Tensor>("logits")] = Tensor(shape: [1, 3, 1, 2], data: logits, sides: [.front])
            }, provided: ["logits": Tensor.self])
        }
        let uniform = try run([0, 0, 0, 0, 0, 0])
        #expect(uniform.map(\.code) == ["low_confidence"])
        #expect(uniform.first?.detail.hasPrefix("the model's mean per-pixel entropy is 1.099 nats") == true)  // ln 3
        #expect(try run([10, 0, 0, 10, 0, 0]).isEmpty)
        // A faulty model: one NaN or infinite logit, in the first class or a later one, in the
        // vector lanes or the tail. Without a guard the entropy is NaN and the photo passes.
        for bad in [Float.nan, .infinity] {
            for index in [0, 3] {
                var logits: [Float] = [10, 0, 0, 10, 0, 0]
                logits[index] = bad
                let reasons = try run(logits)
                #expect(reasons.map(\.code) == ["low_confidence"], "\(bad) at \(index)")
                #expect(reasons.first?.detail.contains("not finite numbers") == true)
            }
            var wide = [Float](repeating: 0, count: 3 * 16)
            for pixel in 0..<16 { wide[pixel] = 10 }
            wide[16 + 5] = bad  // class 1, pixel 5: inside the first eight lanes
            let reasons = try reasons("check_confidence", {
                $0[ArtifactKey<Tensor>("logits")] = Tensor(shape: [1, 3, 2, 8], data: wide, sides: [.front])
            }, provided: ["logits": Tensor.self])
            #expect(reasons.map(\.code) == ["low_confidence"], "\(bad) in the lanes")
        }
    }
}
