import Foundation
import Testing
@testable import Core

/// The worker's `find_damages` against the experiment's, on what
/// experiment/make_damage_fixtures.py decided and wrote in Tests/Fixtures/damages/: whether a
/// pixel set is elongated beyond a limit (a billionth either side of its own elongation, and at
/// its last bits), and the damages of small masks with elongated cracks retyped as scratches.
@Suite("find_damages against the experiment's decisions")
struct FindDamagesParityTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var width: Int
            var runs: [[Int]]
            var limits: [Double]
            var elongated: [Bool]
        }
        struct MaskCase: Decodable {
            var width: Int
            var height: Int
            var classes: [String]
            var params: JSONValue
            var labels: [String: String]
            var damages: [Damage]
        }
        var cases: [Case]
        var masks: [MaskCase]
    }

    static let fixture: Fixture = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/damages/elongation.json")
        // The file is committed; a missing or broken one fails the tests that read it.
        let data = (try? Data(contentsOf: path)) ?? Data()
        return (try? JSONDecoder().decode(Fixture.self, from: data)) ?? Fixture(cases: [], masks: [])
    }()

    @Test("isElongated decides as the experiment does, a billionth either side of each set's own elongation and at its last bits")
    func elongation() throws {
        let cases = Self.fixture.cases
        #expect(cases.count >= 100, "Tests/Fixtures/damages/elongation.json is missing or unreadable")
        #expect(cases.contains { $0.elongated.contains(true) } && cases.contains { $0.elongated.contains(false) })
        #expect(cases.contains { $0.width == 4000 }, "no photo-sized pixel set, whose moments pass 2^53")
        for (index, item) in cases.enumerated() {
            let pixels = item.runs.flatMap { run in (run[1]..<run[2]).map { run[0] * item.width + $0 } }
            for (limit, elongated) in zip(item.limits, item.elongated) {
                #expect(FindDamages.isElongated(pixels, width: item.width, limit: limit) == elongated,
                        "pixel set \(index): \(pixels.count) pixels, limit \(limit)")
            }
        }
    }

    @Test("isElongated: nothing, one pixel and a square are not; a bar past its ratio and a line at any angle are; a photo-sized one does not overflow")
    func elongationShapes() {
        let width = 100
        #expect(!FindDamages.isElongated([], width: width, limit: 1))
        #expect(!FindDamages.isElongated([505], width: width, limit: 1))
        let square = (0..<8).flatMap { y in (0..<8).map { y * width + $0 } }
        #expect(!FindDamages.isElongated(square, width: width, limit: 1.01))
        // Two rows of ten: variances 8.25 and 0.25 across, so an elongation of sqrt(33), 5.745.
        let bar = (0..<2).flatMap { y in (0..<10).map { y * width + $0 } }
        #expect(FindDamages.isElongated(bar, width: width, limit: 5.74))
        #expect(!FindDamages.isElongated(bar, width: width, limit: 5.75))
        let diagonal = (0..<20).map { $0 * width + $0 }
        #expect(FindDamages.isElongated(diagonal, width: width, limit: 1000))
        // Transposed: the same bar standing up.
        let standing = (0..<10).flatMap { y in (0..<2).map { y * width + $0 } }
        #expect(FindDamages.isElongated(standing, width: width, limit: 5.74))
        #expect(!FindDamages.isElongated(standing, width: width, limit: 5.75))
        // A damage as large as a photo: 4000 x 1000 pixels, whose n times the sum of x^2 (8.5e19)
        // is past Int64. Elongation sqrt((4000^2 - 1) / (1000^2 - 1)), 4.0000019.
        let huge = (0..<1000).flatMap { y in (0..<4000).map { y * 4000 + $0 } }
        #expect(FindDamages.isElongated(huge, width: 4000, limit: 4))
        #expect(!FindDamages.isElongated(huge, width: 4000, limit: 4.00001))
    }

    @Test("the damages of masks with elongated cracks retyped are the experiment's, in its order")
    func masks() throws {
        let masks = Self.fixture.masks
        #expect(masks.count == 6, "Tests/Fixtures/damages/elongation.json is missing or unreadable")
        for (index, item) in masks.enumerated() {
            let params = String(decoding: try JSONEncoder().encode(item.params), as: UTF8.self)
            let config = try PipelineConfig.parse(yaml: """
                main: [p]
                pipelines:
                  p:
                    - find_damages: \(params)
                """, file: "t.yaml", provided: ["photo_mask": Sided<Mask>.self])
            var sided = Sided<Mask>()
            for side in [Side.front, .back] {
                let digits = try #require(item.labels[side.rawValue])
                sided[side] = Mask(width: item.width, height: item.height,
                                   labels: digits.utf8.map { $0 - UInt8(ascii: "0") }, classes: item.classes)
            }
            var request = Fixtures.request([])
            request[ArtifactKey<Sided<Mask>>("photo_mask")] = sided
            #expect(config.run(&request) == .graded)
            let found = try request.require(.damages).items
            #expect(found == item.damages, "mask \(index)")
        }
    }
}
