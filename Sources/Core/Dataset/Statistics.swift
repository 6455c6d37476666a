/// Min, max and mean of a buffer, for trace summaries.
enum Statistics {
    static func of(_ bytes: [UInt8]) -> (min: Double, max: Double, mean: Double) {
        guard !bytes.isEmpty else { return (0, 0, 0) }
        var low: UInt8 = .max, high: UInt8 = .min
        var sum: UInt64 = 0
        bytes.withUnsafeBufferPointer { buffer in
            for value in buffer {
                low = Swift.min(low, value)
                high = Swift.max(high, value)
                sum &+= UInt64(value)
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
