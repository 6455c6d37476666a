import Foundation
import Inference
import Testing
@testable import Core

/// The worker's preprocessing against experiment/gradeline_experiment/preprocess.py, on the
/// sample photo whose tensor experiment/reference.py saved.
@Suite("Serving preprocessing matches training preprocessing")
struct PreprocessingParityTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("decode, area resize, to_tensor and normalize reproduce the experiment's model input")
    func tensorsMatch() throws {
        let config = try PipelineConfig.parse(yaml: """
            main: [p]
            pipelines:
              p:
                - decode_image
                - resize: {width: 256, height: 512, filter: area}
                - to_tensor
                - normalize: {mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
            """, file: "parity.yaml")
        let photo = try #require(FileManager.default.contents(
            atPath: Self.repository.appendingPathComponent("samples/phone-02-front.png").path))
        var request = Fixtures.request([(.front, [UInt8](photo))])
        #expect(config.run(&request) == .graded)
        let tensor = try request.require(ArtifactKey<Tensor>("normalized"))
        let expected = try NPY.read(Self.repository.appendingPathComponent("Tests/Fixtures/parity/phone-02-front.input.npy").path)
        #expect(tensor.shape == expected.shape)
        let worst = maxAbsDifference(tensor.data, expected.data)
        #expect(worst <= 1e-6, "max abs difference \(worst)")
    }
}
