import Foundation
import Testing
@testable import Core

@Suite("Models: the model store in the pipeline config, and segment")
struct SegmentTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ops").path
    static let modelSHA = SHA256.hex([UInt8](FileManager.default.contents(atPath: "\(fixtures)/tiny_segmenter.onnx")!))

    static func yaml(sha: String? = modelSHA, model: String = "tiny") -> String {
        """
        models:
          tiny:
            file: tiny_segmenter.onnx
            \(sha.map { "sha256: \($0)" } ?? "")
            threads: 1
        main: [p]
        pipelines:
          p:
            - decode_image
            - resize: {width: 4, height: 8}
            - to_tensor
            - normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
            - segment: {model: \(model)}
        """
    }

    func load(_ yaml: String) throws -> PipelineConfig {
        try PipelineConfig.parse(yaml: yaml, file: "models.yaml", environment: ConfigEnvironment(directory: Self.fixtures))
    }

    @Test("segment runs the sides as one batch and writes logits labelled by side")
    func segmentRuns() throws {
        let config = try load(Self.yaml())
        var request = Fixtures.request([(.back, Fixtures.gradientPNG()), (.front, Fixtures.gradientPNG(width: 30, height: 50))])
        #expect(config.run(&request) == .graded)
        let logits = try request.require(ArtifactKey<Tensor>("logits"))
        #expect(logits.shape == [2, 6, 8, 4])
        #expect(logits.sides == [.front, .back])
        #expect(request.trace.last?.module == .models)
        #expect(config.modelHashes == ["tiny": Self.modelSHA])
    }

    @Test("a model file whose SHA-256 differs from the config is a load error")
    func wrongHash() {
        let problems = Fixtures.problemsIn { try load(Self.yaml(sha: String(repeating: "0", count: 64))) }
        #expect(problems.count == 1)
        #expect(problems.first?.contains("has SHA-256 \(Self.modelSHA), but the config expects 000") == true, "\(problems)")
    }

    @Test("a model without sha256 is an error that gives the digest to add")
    func missingHash() {
        let problems = Fixtures.problemsIn { try load(Self.yaml(sha: nil)) }
        #expect(problems.first?.contains("add 'sha256: \(Self.modelSHA)'") == true, "\(problems)")
    }

    @Test("segment naming a model the config does not have is an error listing the models")
    func unknownModel() {
        let problems = Fixtures.problemsIn { try load(Self.yaml(model: "damage")) }
        #expect(problems.contains { $0.contains("no model 'damage' in the config's models: section (it has tiny)") }, "\(problems)")
    }

    @Test("the model hash is part of the config fingerprint")
    func fingerprintCoversModels() throws {
        #expect(try load(Self.yaml()).normalized.contains(Self.modelSHA))
    }
}
