/// Min, max and mean of a buffer, for trace summaries.
enum Statistics {
    static func of(_ bytes: [UInt8]) -> (min: Double, max: Double, mean: Double) {
        guard !bytes.isEmpty else { return (0, 0, 0) }
        var low: UInt8 = .max, high: UInt8 = .min
        var sum: UInt64 = 0
        bytes.withUnsafeBufferPointer { buffer in
            // Blocks with a 32-bit sum and branch-free min and max, which the compiler turns into
            // vector code: five times the speed of one loop with a 64-bit sum (Swift's generic
            // SIMD types were slower still). 65536 * 255 fits in 32 bits.
            var start = 0
            while start < buffer.count {
                let end = Swift.min(buffer.count, start + 65536)
                var (blockLow, blockHigh, blockSum) = (UInt8.max, UInt8.min, UInt32(0))
                for index in start..<end {
                    let value = buffer[index]
                    blockLow = value < blockLow ? value : blockLow
                    blockHigh = value > blockHigh ? value : blockHigh
                    blockSum &+= UInt32(value)
                }
                low = Swift.min(low, blockLow)
                high = Swift.max(high, blockHigh)
                sum &+= UInt64(blockSum)
                start = end
            }
        }
        return (Double(low), Double(high), Double(sum) / Double(bytes.count))
    }

    /// Stats over the finite values; `nonfinite` counts NaNs and infinities.
    ///
    /// Blocks of 1024 values in eight Float lanes (each lane sums 128 values; the blocks' sums
    /// add up in Double), which the compiler keeps in vector registers: the logits and the input
    /// tensor were 2% of a job through one scalar loop. A block holding a NaN or an infinity goes
    /// through the scalar loop instead, as does the tail.
    static func of(_ values: [Float]) -> (min: Double?, max: Double?, mean: Double?, nonfinite: Int) {
        var low = Float.infinity, high = -Float.infinity
        var sum = 0.0
        var finite = 0
        values.withUnsafeBufferPointer { buffer in
            func scalar(_ range: Range<Int>) {
                for value in buffer[range] where value.isFinite {
                    low = Swift.min(low, value)
                    high = Swift.max(high, value)
                    sum += Double(value)
                    finite += 1
                }
            }
            let block = 1024
            var start = 0
            while start + block <= buffer.count {
                let base = UnsafeRawPointer(buffer.baseAddress! + start)
                var blockLow = SIMD8<Float>(repeating: .infinity), blockHigh = -blockLow
                var blockSum = SIMD8<Float>(repeating: 0), poison = SIMD8<Float>(repeating: 0)
                for offset in stride(from: 0, to: block * 4, by: 32) {
                    let value = base.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                    blockLow = blockLow.replacing(with: value, where: value .< blockLow)
                    blockHigh = blockHigh.replacing(with: value, where: value .> blockHigh)
                    blockSum += value
                    poison += value - value  // stays 0 unless a value is NaN or infinite
                }
                if poison == SIMD8(repeating: 0) {
                    low = Swift.min(low, blockLow.min())
                    high = Swift.max(high, blockHigh.max())
                    for lane in 0..<8 { sum += Double(blockSum[lane]) }
                    finite += block
                } else {
                    scalar(start..<(start + block))
                }
                start += block
            }
            scalar(start..<buffer.count)
        }
        guard finite > 0 else { return (nil, nil, nil, values.count) }
        return (Double(low), Double(high), sum / Double(finite), values.count - finite)
    }
}
