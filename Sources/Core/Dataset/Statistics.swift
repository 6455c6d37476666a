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
    static func of(_ values: [Float]) -> (min: Double?, max: Double?, mean: Double?, nonfinite: Int) {
        var low = Float.infinity, high = -Float.infinity
        var sum = 0.0
        var finite = 0
        values.withUnsafeBufferPointer { buffer in
            for value in buffer where value.isFinite {
                low = Swift.min(low, value)
                high = Swift.max(high, value)
                sum += Double(value)
                finite += 1
            }
        }
        guard finite > 0 else { return (nil, nil, nil, values.count) }
        return (Double(low), Double(high), sum / Double(finite), values.count - finite)
    }
}
