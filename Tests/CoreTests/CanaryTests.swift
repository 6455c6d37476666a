import Foundation
import Testing
@testable import Core

/// Canary jobs (models/canaries/, the config's canaries: section): the shipped ones pass, and a
/// wrong model or a changed param is named at the first stage whose output hash changed.
@Suite("Canary jobs")
struct CanaryTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The shipped config with absolute paths, so that it loads from anywhere, changed by `edit`.
    static func shipped(jobs: String = "[phone-01]", _ edit: (String) -> String = { $0 }) throws -> PipelineConfig {
        let root = repository.path
        var text = try String(contentsOfFile: "\(root)/config/pipeline.yaml", encoding: .utf8)
        text = text.replacingOccurrences(of: "file: ../models/", with: "file: \(root)/models/")
            .replacingOccurrences(of: "rules: grading.yaml", with: "rules: \(root)/config/grading.yaml")
            .replacingOccurrences(of: "dir: ../models/canaries", with: "dir: \(root)/models/canaries")
            .replacingOccurrences(of: "jobs: [phone-01, phone-02, phone-03]", with: "jobs: \(jobs)")
        return try PipelineConfig.parse(yaml: edit(text), file: "canary-test.yaml")
    }

    @Test("the shipped canaries match their recording with the shipped config")
    func shippedCanariesPass() throws {
        let config = try PipelineConfig.load(file: Self.repository.appendingPathComponent("config/pipeline.yaml").path)
        let results = try Canaries.verify(config)
        #expect(results.map(\.job) == ["phone-01", "phone-02", "phone-03"])
        for result in results {
            #expect(result.mismatch == nil, "\(result.mismatch.map(String.init(describing:)) ?? "")")
        }
        #expect(results.map { $0.grade?.value } == ["A", "D", "C"])
    }

    @Test("a different model file is named at segment/segment, with both hashes and the model's change")
    func wrongModelIsCaughtAtSegment() throws {
        let tiny = Self.repository.appendingPathComponent("Tests/Fixtures/parity/stages/inputs/tiny-seg.onnx").path
        let digest = SHA256.hex([UInt8](try #require(FileManager.default.contents(atPath: tiny))))
        // The shipped model's hash, from the shipped config (it changes with each new model).
        let shippedText = try String(contentsOf: Self.repository.appendingPathComponent("config/pipeline.yaml"), encoding: .utf8)
        let shippedHash = try #require(shippedText.firstMatch(of: /sha256: ([0-9a-f]{64})/)).output.1
        let config = try Self.shipped {
            $0.replacingOccurrences(of: "\(Self.repository.path)/models/damage-seg.onnx", with: tiny)
                .replacingOccurrences(of: String(shippedHash), with: digest)
        }
        let mismatch = try #require(try Canaries.verify(config).first?.mismatch)
        #expect(mismatch.stage == "segment/segment")
        #expect(mismatch.output == "logits")
        #expect(mismatch.expected.hasPrefix("sha256 ") && mismatch.actual.hasPrefix("sha256 ") && mismatch.expected != mismatch.actual)
        #expect(mismatch.changes.contains { $0.contains("model 'damage' file sha256 was \(shippedHash.prefix(8))") })
        #expect(mismatch.description.contains("a wrong model file"))
        #expect(mismatch.description.contains("oneDNN"))
        #expect(mismatch.description.contains("gradeline-worker canaries --record"))
    }

    @Test("a changed normalize mean is named at preprocess/normalize, after resize and to_tensor matched")
    func changedParamIsCaughtAtItsStep() throws {
        let config = try Self.shipped { $0.replacingOccurrences(of: "mean: [0.485, 0.456, 0.406]", with: "mean: [0.5, 0.456, 0.406]") }
        let mismatch = try #require(try Canaries.verify(config).first?.mismatch)
        #expect(mismatch.stage == "preprocess/normalize")
        #expect(mismatch.output == "normalized")
        #expect(mismatch.changes.contains { $0.contains("config fingerprint") })
        #expect(mismatch.description.contains("a changed param of normalize"))
    }

    @Test("record writes expected.json that then verifies, and a removed step is named")
    func recordThenVerify() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("canaries-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let job = folder.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: job, withIntermediateDirectories: true)
        let inputs = Self.repository.appendingPathComponent("Tests/Fixtures/parity/stages/inputs").path
        try FileManager.default.copyItem(atPath: "\(inputs)/front.png", toPath: job.appendingPathComponent("front.png").path)
        let text = try String(contentsOfFile: "\(inputs)/pipeline.yaml", encoding: .utf8)
            + "\ncanaries:\n  dir: \(folder.path)\n"
        func load(_ yaml: String) throws -> PipelineConfig {
            try PipelineConfig.parse(yaml: yaml, file: "\(inputs)/pipeline.yaml", environment: ConfigEnvironment(directory: inputs))
        }
        let config = try load(text)
        // Before recording there is nothing to compare with: an error, not a pass.
        #expect(throws: VerificationError.self) { try Canaries.verify(config) }
        let written = try Canaries.record(config)
        #expect(written.map(\.job) == ["small"])
        #expect(FileManager.default.fileExists(atPath: job.appendingPathComponent("expected.json").path))
        #expect(try Canaries.verify(config).allSatisfy { $0.mismatch == nil })
        // The fingerprint does not include the canaries: recording them changes no result.
        #expect(try load(text.replacingOccurrences(of: "\ncanaries:\n  dir: \(folder.path)\n", with: "")).sha256 == config.sha256)
        let fewer = try load(text.replacingOccurrences(of: "    - grayscale\n", with: "")
            .replacingOccurrences(of: "    - check_exposure: {min_mean: 10, max_mean: 245, max_glare_fraction: 0.5}\n", with: "")
            .replacingOccurrences(of: "    - check_blur: {min_laplacian_variance: 1}\n", with: ""))
        let mismatch = try #require(try Canaries.verify(fewer).first?.mismatch)
        #expect(mismatch.stage == "preprocess/resize")
        #expect(mismatch.expected == "step check_input/grayscale")
    }
}
