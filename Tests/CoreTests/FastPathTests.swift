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

    @Test("float statistics: min, max, mean and the non-finite count, with NaN and infinities in some blocks",
          arguments: [0, 1, 1023, 1024, 1025, 4096 + 17])
    func floatStatistics(count: Int) {
        var random = Generator(state: UInt64(count) + 3)
        var values = (0..<count).map { _ in Float.random(in: -40...25, using: &random) }
        if count > 1030 {  // a NaN in the second block, infinities in the first and the tail
            values[1030] = .nan
            values[3] = .infinity
            values[count - 1] = -.infinity
        }
        let stats = Statistics.of(values)
        let finite = values.filter(\.isFinite)
        #expect(stats.nonfinite == count - finite.count)
        guard !finite.isEmpty else {
            #expect(stats.min == nil && stats.max == nil && stats.mean == nil)
            return
        }
        let mean = finite.reduce(0.0) { $0 + Double($1) } / Double(finite.count)
        #expect(stats.min == Double(finite.min()!))
        #expect(stats.max == Double(finite.max()!))
        // Lanes sum 128 values in Float: the mean is within a few parts in 1e6 of the Double sum's.
        #expect(abs(stats.mean! - mean) <= 1e-5 * max(1, abs(mean)), "mean \(stats.mean!), expected \(mean)")
    }

    @Test("area resize equals its plain definition bit for bit: shrinking, growing, odd sizes, grey and RGB",
          arguments: [(720, 1440, 256, 512, 3), (37, 23, 5, 7, 1), (7, 5, 19, 13, 3), (50, 50, 49, 51, 1), (9, 300, 4, 3, 3)])
    func areaResize(width: Int, height: Int, outWidth: Int, outHeight: Int, channels: Int) {
        var random = Generator(state: UInt64(width * 1000 + outWidth))
        let format: Image.Format = channels == 1 ? .gray8 : .rgb8
        let image = Image(width: width, height: height, format: format,
                          pixels: (0..<(width * height * channels)).map { _ in UInt8.random(in: 0...255, using: &random) })
        let got = Resize.resize(image, width: outWidth, height: outHeight, filter: .area)
        // The definition: a horizontal pass into a whole narrowed image, then a vertical one, each
        // sum from 0 tap by tap.
        let columns = Resize.areaTaps(from: width, to: outWidth), rows = Resize.areaTaps(from: height, to: outHeight)
        var narrowed = [Double](repeating: 0, count: height * outWidth * channels)
        for y in 0..<height {
            for x in 0..<outWidth {
                for c in 0..<channels {
                    for k in 0..<columns.taps {
                        let source = (y * width + columns.indices[x * columns.taps + k]) * channels + c
                        narrowed[(y * outWidth + x) * channels + c] += Double(image.pixels[source]) * columns.weights[x * columns.taps + k]
                    }
                }
            }
        }
        var expected = [UInt8](repeating: 0, count: outWidth * outHeight * channels)
        for y in 0..<outHeight {
            for i in 0..<(outWidth * channels) {
                var sum = 0.0
                for k in 0..<rows.taps {
                    sum += narrowed[rows.indices[y * rows.taps + k] * outWidth * channels + i] * rows.weights[y * rows.taps + k]
                }
                expected[y * outWidth * channels + i] = UInt8(min(max((sum + 0.5).rounded(.down), 0), 255))
            }
        }
        #expect(got.pixels == expected)
    }

    @Test("check_blur's Laplacian variance has the plain Double definition's bits, past a chunk of 2000 and at the extremes",
          arguments: [(3, 3), (17, 9), (2003, 4), (4100, 3)])
    func laplacianVariance(width: Int, height: Int) {
        var random = Generator(state: UInt64(width))
        for pattern in 0..<3 {
            let pixels = (0..<(width * height)).map { i -> UInt8 in
                switch pattern {
                case 0: return UInt8.random(in: 0...255, using: &random)
                case 1: return (i % width + i / width) % 2 == 0 ? 255 : 0  // every value is +-1020
                default: return 200
                }
            }
            var sum = 0.0, squares = 0.0
            for y in 1..<(height - 1) {
                for x in 1..<(width - 1) {
                    let i = y * width + x
                    let value = Double(Int(pixels[i - width]) + Int(pixels[i + width]) + Int(pixels[i - 1]) + Int(pixels[i + 1]) - 4 * Int(pixels[i]))
                    sum += value
                    squares += value * value
                }
            }
            let count = Double((width - 2) * (height - 2)), mean = sum / count
            let got = CheckBlur.laplacianVariance(Image(width: width, height: height, format: .gray8, pixels: pixels))
            #expect(got.bitPattern == (squares / count - mean * mean).bitPattern, "pattern \(pattern)")
        }
    }

    @Test("check_confidence's entropy equals -sum(p log p) of the softmax, with -inf and huge logits",
          arguments: [(6, 500), (6, 8), (6, 7), (1, 19), (3, 64)])
    func entropy(channels: Int, plane: Int) {
        var random = Generator(state: 7 + UInt64(plane))
        var logits = (0..<(channels * plane)).map { _ in Float.random(in: -20...20, using: &random) }
        if channels > 1 { logits[0] = -.infinity }  // pixel 0, class 0: probability 0
        for c in 0..<channels { logits[c * plane + 1] = 1e4 * Float(c) }  // pixel 1: certain
        for c in 0..<channels { logits[c * plane + 2] = 3 }  // pixel 2: uniform, log 6
        for c in 0..<channels { logits[c * plane + plane - 1] = Float(c) * 40 - 100 }  // the last: far apart
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
        // Eight pixels at a time in Float: each pixel within about 1e-6 nats of the Double sum.
        #expect(abs(got - expected) < 2e-6, "entropy \(got), expected \(expected)")
    }

    @Test("exp8 is within 4e-7 relative of exp on [-87, 0], at the reduction's edges too")
    func exp8() {
        var random = Generator(state: 11)
        var points: [Float] = [0, -87, -0.346_573_6, -0.346_573_6 * 3, -1e-30, -86.999, -43.5]
        points += (0..<4000).map { _ in -Float.random(in: 0...87, using: &random) }
        points += (0..<4000).map { _ in -Float.random(in: 0...2, using: &random) }
        var worst = 0.0
        for start in stride(from: 0, to: points.count - 7, by: 8) {
            let z = SIMD8<Float>(points[start..<(start + 8)])
            let got = CheckConfidence.exp8(z)
            for lane in 0..<8 {
                let want = Foundation.exp(Double(z[lane]))
                worst = max(worst, abs(Double(got[lane]) - want) / want)
            }
        }
        #expect(worst < 4e-7, "worst relative error \(worst)")
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

    @Test("zones match their definition: screen rows, an edge band by 4-neighbour distance, corners, body",
          arguments: [0, 1, 3, 12, 70])  // 70: the band's steps along a row outgrow the 64-pixel row
    func zones(edge: Int) {
        for seed in 1...5 {
            let mask = randomMask(width: 64, height: 80, seed: UInt64(seed) + 100)
            let (width, height) = (mask.width, mask.height)
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
        // Four histograms over whole blocks of four and a tail: the same as counting one by one.
        var random = Generator(state: 5)
        let zones = (0..<1003).map { _ in UInt8.random(in: 0...6, using: &random) }
        var expected = [Int](repeating: 0, count: 5)
        for zone in zones { expected[zone <= 4 ? Int(zone) : 3] += 1 }
        #expect(FindDamages.counts(of: zones) == expected)
    }
}
