import Foundation
import Testing
@testable import Core

/// The hot loops of a job were rewritten for speed (issue 11); each must still give exactly what
/// its plain definition gives, on inputs shaped to hit the edges: block boundaries, overflow,
/// -inf logits, labels touching the border.
@Suite("Fast paths agree with their plain definitions")
struct FastPathTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state ^ (state >> 29)
        }
    }

    @Test("byte statistics: min, max and an exact mean across block edges and at full scale",
          arguments: [0, 1, 31, 65535, 65536, 65537, 300_001])
    func byteStatistics(count: Int) {
        var random = Generator(state: UInt64(count) + 1)
        for bytes in [(0..<count).map { _ in UInt8.random(in: 0...255, using: &random) },
                      [UInt8](repeating: 255, count: count), [UInt8](repeating: 0, count: count)] {
            let stats = Statistics.of(bytes)
            guard !bytes.isEmpty else {
                #expect(stats.min == 0 && stats.max == 0 && stats.mean == 0)
                continue
            }
            let sum = bytes.reduce(UInt64(0)) { $0 + UInt64($1) }
            #expect(stats.min == Double(bytes.min()!))
            #expect(stats.max == Double(bytes.max()!))
            #expect(stats.mean == Double(sum) / Double(bytes.count))
        }
    }

    @Test("check_confidence's entropy equals -sum(p log p) of the softmax, with -inf and huge logits")
    func entropy() {
        var random = Generator(state: 7)
        let (channels, plane) = (6, 500)
        var logits = (0..<(channels * plane)).map { _ in Float.random(in: -20...20, using: &random) }
        logits[0] = -.infinity  // pixel 0, class 0: probability 0
        for c in 0..<channels { logits[c * plane + 1] = 1e4 * Float(c) }  // pixel 1: certain
        for c in 0..<channels { logits[c * plane + 2] = 3 }  // pixel 2: uniform, log 6
        var expected = 0.0
        for pixel in 0..<plane {
            let values = (0..<channels).map { Double(logits[$0 * plane + pixel]) }
            let peak = values.max()!
            let exps = values.map { exp($0 - peak) }
            let sum = exps.reduce(0, +)
            expected -= exps.filter { $0 > 0 }.map { $0 / sum * log($0 / sum) }.reduce(0, +)
        }
        expected /= Double(plane)
        let got = CheckConfidence.meanEntropy(logits, base: 0, channels: channels, plane: plane)
        #expect(abs(got - expected) < 1e-12, "entropy \(got), expected \(expected)")
    }

    func randomMask(width: Int, height: Int, seed: UInt64) -> Mask {
        var random = Generator(state: seed)
        // Blobs of each label over a body, so that components touch each other and the border.
        var labels = [UInt8](repeating: 1, count: width * height)
        for i in 0..<width { labels[i] = 0 }
        for _ in 0..<40 {
            let (cx, cy) = (Int.random(in: 0..<width, using: &random), Int.random(in: 0..<height, using: &random))
            let label = UInt8.random(in: 0...5, using: &random)
            let radius = Int.random(in: 0...4, using: &random)
            for y in max(0, cy - radius)...min(height - 1, cy + radius) {
                for x in max(0, cx - radius)...min(width - 1, cx + radius) where Bool.random(using: &random) {
                    labels[y * width + x] = label
                }
            }
        }
        return Mask(width: width, height: height, labels: labels,
                    classes: ["background", "body", "screen", "crack", "scratch", "chip"])
    }

    @Test("one labelling pass finds the same components, in the same order, as one pass per class")
    func componentsByLabel() {
        for seed in 1...5 {
            let mask = randomMask(width: 61, height: 47, seed: UInt64(seed))
            let together = FindDamages.components(mask, labels: [3, 4, 5])
            for label in [3, 4, 5] as [UInt8] {
                let alone = FindDamages.components(mask) { $0 == label }
                let joint = together[label] ?? []
                #expect(alone.map(\.box) == joint.map(\.box), "label \(label), seed \(seed)")
                #expect(alone.map { Set($0.pixels) } == joint.map { Set($0.pixels) }, "label \(label), seed \(seed)")
            }
        }
    }

    @Test("zones match their definition: screen rows, an edge band by 4-neighbour distance, corners, body")
    func zones() {
        for seed in 1...5 {
            let mask = randomMask(width: 64, height: 80, seed: UInt64(seed) + 100)
            let (width, height, edge) = (mask.width, mask.height, 3)
            let got = FindDamages.zones(mask, background: 0, screen: 2, edgeWidth: edge, cornerFraction: 0.2)
            // Distance to the background or the outside of the photo, by breadth-first search.
            var distance = [Int](repeating: Int.max, count: width * height)
            var queue: [Int] = []
            for y in 0..<height {
                for x in 0..<width {
                    let i = y * width + x
                    if mask.labels[i] == 0 { distance[i] = 0 } else if x == 0 || y == 0 || x == width - 1 || y == height - 1 { distance[i] = 1 } else { continue }
                    queue.append(i)
                }
            }
            var head = 0
            while head < queue.count {
                let i = queue[head]
                head += 1
                let (y, x) = i.quotientAndRemainder(dividingBy: width)
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] where nx >= 0 && ny >= 0 && nx < width && ny < height {
                    if distance[ny * width + nx] > distance[i] + 1 {
                        distance[ny * width + nx] = distance[i] + 1
                        queue.append(ny * width + nx)
                    }
                }
            }
            let device = (0..<(width * height)).filter { mask.labels[$0] != 0 }
            let xs = device.map { $0 % width }, ys = device.map { $0 / width }
            let (minX, maxX, minY, maxY) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
            let reach = Int(Double(min(maxX - minX + 1, maxY - minY + 1)) * 0.2)
            for y in 0..<height {
                let screenXs = (0..<width).filter { mask.labels[y * width + $0] == 2 }
                for x in 0..<width {
                    let i = y * width + x
                    let expected: FindDamages.Zone
                    if mask.labels[i] == 0 {
                        expected = .none
                    } else if let first = screenXs.first, let last = screenXs.last, x >= first, x <= last {
                        expected = .screen
                    } else if distance[i] <= edge {
                        let corner = (x - minX <= reach || maxX - x <= reach) && (y - minY <= reach || maxY - y <= reach)
                        expected = corner ? .corner : .edge
                    } else {
                        expected = .body
                    }
                    #expect(got[i] == expected.rawValue, "pixel (\(x), \(y)), seed \(seed)")
                    if got[i] != expected.rawValue { return }
                }
            }
        }
    }

    @Test("zone votes go to the zone with most pixels; ties to the lower zone; none alone is body")
    func votes() {
        #expect(FindDamages.winner([9, 0, 2, 2, 0]) == .edge)
        #expect(FindDamages.winner([0, 1, 0, 5, 5]) == .body)
        #expect(FindDamages.winner([7, 0, 0, 0, 0]) == .body)
        #expect(FindDamages.counts(of: [0, 1, 1, 4, 200]) == [1, 2, 0, 1, 1])
    }
}
