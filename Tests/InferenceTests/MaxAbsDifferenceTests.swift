import Testing
import Inference

@Suite("maxAbsDifference, which every parity and layout comparison uses, sees NaN anywhere")
struct MaxAbsDifferenceTests {
    @Test("a NaN at a non-first position makes the difference NaN, so a tolerance check fails")
    func nanAnywhereFails() {
        let expected: [Float] = [0, 0, 0, 0]
        for position in 0..<4 {
            var output = expected
            output[position] = .nan
            let worst = maxAbsDifference(output, expected)
            #expect(worst.isNaN)
            #expect(!(worst <= 1e-5))
            #expect(!(worst == 0))
        }
        // What the tests used before: NaN after the first element vanishes.
        let old = zip([Float(0), .nan, 0], [Float(0), 0, 0]).map { abs($0 - $1) }.max() ?? 0
        #expect(old == 0)
    }

    @Test("arrays of different lengths never compare equal")
    func lengthsDiffer() {
        #expect(maxAbsDifference([1, 2], [1, 2, 3]) == .infinity)
        #expect(maxAbsDifference([1, 2.5], [1, 2]) == 0.5)
        #expect(maxAbsDifference([], []) == 0)
    }
}
