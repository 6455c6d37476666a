import Foundation
import CDNNL
import Testing
@testable import Inference

/// The shipped model against onnxruntime's logits on a preprocessed sample photo
/// (experiment/reference.py writes them).
@Suite("The shipped damage model matches onnxruntime")
struct ModelParityTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// On oneDNN at 1 and 2 threads, and on the portable SGEMM path (which also runs the fused
    /// Concat and Conv steps the way they fall back when oneDNN cannot plan them).
    @Test("logits within 1e-4 of onnxruntime, and the same argmax on at least 99.99% of pixels",
          arguments: [(1, true), (2, true), (1, false)])
    func logitsMatch(threads: Int, useOneDNN: Bool) throws {
        let parity = Self.repository.appendingPathComponent("Tests/Fixtures/parity").path
        let model = try InferenceModel(contentsOf: Self.repository.appendingPathComponent("models/damage-seg.onnx").path,
                                       useOneDNN: useOneDNN)
        let input = try NPY.read("\(parity)/phone-02-front.input.npy")
        let expected = try NPY.read("\(parity)/phone-02-front.logits.npy")
        let logits = try #require(try model.run(input, threads: threads)["logits"])
        #expect(logits.shape == expected.shape)
        let worst = maxAbsDifference(logits.data, expected.data)
        #expect(worst <= 1e-4, "max abs difference \(worst)")
        let (classes, plane) = (expected.shape[1], expected.shape[2] * expected.shape[3])
        var agree = 0
        for pixel in 0..<plane {
            func argmax(_ values: [Float]) -> Int {
                (0..<classes).max { values[$0 * plane + pixel] < values[$1 * plane + pixel] }!
            }
            if argmax(logits.data) == argmax(expected.data) { agree += 1 }
        }
        let agreement = Double(agree) / Double(plane)
        #expect(agreement >= 0.9999, "argmax agreement \(agreement)")
    }

    /// OpenMP keeps its thread count per calling thread, and oneDNN splits a convolution's sums
    /// for the count a plan was made with: a run's `threads`, not what the calling thread was left
    /// with, must decide the bits, or a worker and a local replay disagree. (Where oneDNN's
    /// Winograd kernel is missing, the counts give the same bits and this cannot tell.)
    @Test("a run's thread count decides its bits, not the calling thread's OpenMP setting")
    func sameBitsPerThreadCount() throws {
        let path = Self.repository.appendingPathComponent("models/damage-seg.onnx").path
        let input = try NPY.read(Self.repository.appendingPathComponent("Tests/Fixtures/parity/phone-02-front.input.npy").path)
        cdnnl_set_threads(1)
        let reference = try #require(try InferenceModel(contentsOf: path).run(input, threads: 1)["logits"])
        cdnnl_set_threads(2)
        let model = try InferenceModel(contentsOf: path)
        let oneThread = try #require(try model.run(input, threads: 1)["logits"])
        // Compared whole, outside #expect: its diff of two 800k-value arrays would take minutes.
        let sameAsReference = oneThread.data == reference.data
        #expect(sameAsReference, "1 thread after a 2-thread setting differs from 1 thread after a 1-thread setting")
        let twoThreads = try #require(try model.run(input, threads: 2)["logits"])
        cdnnl_set_threads(1)
        let again = try #require(try model.run(input, threads: 2)["logits"])
        let sameTwice = again.data == twoThreads.data
        #expect(sameTwice, "2 threads after a 1-thread setting differs from 2 threads before it")
    }
}
