import Foundation
import Testing
@testable import Core

@Suite("The Request trace records every step and serializes to the documented JSON")
struct TraceTests {
    let config: PipelineConfig
    let front = Fixtures.gradientPNG(width: 40, height: 60)
    let back = Fixtures.gradientPNG(width: 30, height: 20)

    init() throws {
        config = try Fixtures.config(Fixtures.basicYAML)
    }

    func run(level: TraceLevel = .summary) -> (Request, Outcome) {
        var request = Fixtures.request([(.front, front), (.back, back)])
        let outcome = config.run(&request, level: level)
        return (request, outcome)
    }

    @Test("SHA-256 matches the FIPS 180-2 test vector")
    func sha256Vector() {
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("one entry per step, with pipeline, function, module, params and status")
    func entries() {
        let (request, outcome) = run()
        #expect(outcome == .graded)
        #expect(request.trace.map { "\($0.pipeline)/\($0.function)" } ==
                ["decode/decode_image", "preprocess/resize", "preprocess/to_tensor", "preprocess/normalize"])
        #expect(request.trace.allSatisfy { $0.module == .processor && $0.status == .ok && $0.durationMs >= 0 })
        let decode = request.trace[0].params
        #expect(decode["max_pixels"] == .int(50_000_000))  // a default, recorded
        #expect(decode["in"] == .object(["photos": .string("photos")]))
        #expect(decode["out"] == .object(["image": .string("image")]))
        #expect(request.trace[1].params["width"] == .int(8))
        #expect(Set(request.timings.keys) == ["decode", "preprocess"])
    }

    @Test("image outputs carry kind, shape, dtype, min, max, mean and SHA-256 per side")
    func imageSummaries() throws {
        let (request, _) = run()
        let outputs = request.trace[0].outputs
        #expect(outputs.map(\.side) == [.front, .back])
        let decoded = try PNG.decode(front)
        let summary = outputs[0]
        #expect(summary.artifact == "image")
        #expect(summary.kind == "image")
        #expect(summary.shape == [60, 40, 3])
        #expect(summary.dtype == "uint8")
        #expect(summary.min == Double(decoded.pixels.min()!))
        #expect(summary.max == Double(decoded.pixels.max()!))
        let mean = Double(decoded.pixels.reduce(0) { $0 + Int($1) }) / Double(decoded.pixels.count)
        #expect(abs(summary.mean! - mean) < 1e-9)
        #expect(summary.sha256 == SHA256.hex(decoded.pixels))
        #expect(summary.encoded == nil)  // only at level full
    }

    @Test("tensor outputs carry the NCHW shape, float32 stats and the hash of the values")
    func tensorSummaries() throws {
        let (request, _) = run()
        let tensor = try request.require(ArtifactKey<Tensor>("normalized"))
        let summary = try #require(request.trace[3].outputs.first)
        #expect(summary.shape == [2, 3, 16, 8])
        #expect(summary.dtype == "float32")
        #expect(summary.min == Double(tensor.data.min()!))
        #expect(summary.max == Double(tensor.data.max()!))
        #expect(summary.nonfinite == 0)
        #expect(summary.sha256 == SHA256.hex(tensor.data))
    }

    @Test("at level full, images are carried as PNGs that decode to the same pixels")
    func fullLevel() throws {
        let (request, _) = run(level: .full)
        let summary = request.trace[1].outputs[0]
        let encoded = try #require(summary.encoded)
        #expect(encoded.contentType == "image/png")
        let image = try PNG.decode(try #require(Base64.decode(encoded.data)))
        #expect(image.pixels == request[ArtifactKey<Sided<Image>>("resized")]?[.front]?.pixels)
    }

    @Test("a corrupt side fails the job at its step, naming the side, and the trace says so")
    func failure() {
        var request = Fixtures.request([(.front, front), (.back, Array(back.prefix(100)))])
        let outcome = config.run(&request)
        guard case .failed(let failure) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(failure.stage == "decode/decode_image")
        #expect(failure.code == "image.corrupt")
        #expect(failure.message.hasPrefix("back image: cannot decode the PNG"))
        #expect(failure.retriable == false)
        #expect(request.trace.count == 1)
        #expect(request.trace[0].status == .failed)
        #expect(request.trace[0].error == failure)
        #expect(request.trace[0].outputs.isEmpty)
    }

    @Test("an unsupported content type fails with the side and the type")
    func unsupportedType() {
        var request = Request(jobID: "j", kioskID: "k", submittedAt: "2026-11-28T07:00:00Z",
                              photos: Sided([(.left, EncodedImage(contentType: "image/gif", bytes: [1]))]))
        guard case .failed(let failure) = config.run(&request) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.code == "image.unsupported_content_type")
        #expect(failure.message == "left image: content type 'image/gif' has no decoder; supported: image/png, image/jpeg")
    }

    @Test("the result JSON has every documented field, with stable names")
    func resultJSON() throws {
        let (request, outcome) = run()
        let result = GradingResult(request: request, outcome: outcome,
                                   fingerprint: Fingerprint(config: config.sha256, workerVersion: "test"),
                                   workerID: "w1")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.json().utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["schema", "job_id", "status", "grade", "grade_rule", "damages", "reasons",
                                     "error", "fingerprint", "attempt", "redelivered", "worker_id", "timings", "trace", "overlays"])
        #expect(object["schema"] as? String == "gradeline.result/1")
        #expect(object["status"] as? String == "graded")
        #expect(object["grade"] is NSNull)
        let fingerprint = try #require(object["fingerprint"] as? [String: Any])
        #expect(fingerprint["config_sha256"] as? String == config.sha256)
        let trace = try #require(object["trace"] as? [[String: Any]])
        #expect(Set(trace[0].keys) == ["pipeline", "function", "module", "params", "duration_ms", "status", "outputs"])
        let output = try #require((trace[0]["outputs"] as? [[String: Any]])?.first)
        #expect(Set(output.keys) == ["artifact", "side", "kind", "shape", "dtype", "min", "max", "mean", "sha256"])
        // The JSON reads back into the same result.
        #expect(try GradingResult.parse(Array(result.json().utf8)) == result)
    }
}
