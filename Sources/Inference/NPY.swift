import Foundation

/// Reads and writes float32 `.npy` files (NumPy's format, version 1.0 to 3.0, C order). It also
/// reads uint8 files, as floats, for decoded pixels.
public enum NPY {
    public static func read(_ path: String) throws(InferenceError) -> NDArray {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InferenceError(.badInput, "cannot read '\(path)'")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw InferenceError(.badInput, "'\(path)' is not a .npy file")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        } else {
            guard bytes.count >= 12 else { throw InferenceError(.badInput, "'\(path)': truncated header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            start = 12
        }
        guard bytes.count >= start + headerLength else { throw InferenceError(.badInput, "'\(path)': truncated header") }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        let isBytes = header.contains("'descr': '|u1'")
        guard isBytes || header.contains("'descr': '<f4'") else {
            throw InferenceError(.badInput, "'\(path)' is not little-endian float32 or uint8 (header \(header.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        guard header.contains("'fortran_order': False") else {
            throw InferenceError(.badInput, "'\(path)' is in Fortran order; save it in C order")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw InferenceError(.badInput, "'\(path)': no shape in the header")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *), offset = start + headerLength
        if isBytes, bytes.count - offset == count {
            return NDArray(shape: shape, data: bytes[offset...].map(Float.init))
        }
        guard bytes.count - offset == count * (isBytes ? 1 : 4) else {
            throw InferenceError(.badInput, "'\(path)' holds \(bytes.count - offset) bytes of data for shape \(shape)")
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { $0.copyBytes(from: bytes[offset...]) }
        return NDArray(shape: shape, data: values)
    }

    public static func write(_ array: NDArray, to path: String) throws {
        let shape = array.shape.count == 1 ? "(\(array.shape[0]),)" : "(\(array.shape.map(String.init).joined(separator: ", ")))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        // Pad so that the data starts on a 64-byte boundary, as NumPy does.
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        bytes += [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        array.data.withUnsafeBytes { bytes += $0 }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
