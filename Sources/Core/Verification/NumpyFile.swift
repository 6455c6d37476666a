import Foundation

/// A `.npy` file as experiment/reference.py writes them: uint8 (`|u1`) or float32 (`<f4`), in
/// C order. (Inference's `NPY` reads float32 only.)
public struct NumpyFile: Sendable {
    public enum Values: Sendable {
        case uint8([UInt8])
        case float32([Float])
    }

    public var shape: [Int]
    public var values: Values

    public var count: Int { shape.reduce(1, *) }

    public static func read(_ path: String) throws(VerificationError) -> NumpyFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VerificationError("cannot read '\(path)'")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw VerificationError("'\(path)' is not a .npy file")
        }
        let (headerLength, start) = bytes[6] == 1
            ? (Int(bytes[8]) | Int(bytes[9]) << 8, 10)
            : ((0..<4).reduce(0) { $0 | Int(bytes[min(8 + $1, bytes.count - 1)]) << (8 * $1) }, 12)
        guard bytes.count >= start + headerLength else { throw VerificationError("'\(path)': truncated header") }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        guard header.contains("'fortran_order': False") else {
            throw VerificationError("'\(path)' is in Fortran order; save it in C order")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw VerificationError("'\(path)': no shape in the header")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *), offset = start + headerLength
        if header.contains("'descr': '|u1'") {
            guard bytes.count - offset == count else {
                throw VerificationError("'\(path)' holds \(bytes.count - offset) bytes for uint8 shape \(shape)")
            }
            return NumpyFile(shape: shape, values: .uint8(Array(bytes[offset...])))
        }
        if header.contains("'descr': '<f4'") {
            guard bytes.count - offset == count * 4 else {
                throw VerificationError("'\(path)' holds \(bytes.count - offset) bytes for float32 shape \(shape)")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { $0.copyBytes(from: bytes[offset...]) }
            return NumpyFile(shape: shape, values: .float32(values))
        }
        throw VerificationError("'\(path)' is neither uint8 nor little-endian float32 (header \(header.trimmingCharacters(in: .whitespacesAndNewlines)))")
    }

    /// The values as Double, whatever their type.
    public var doubles: [Double] {
        switch values {
        case .uint8(let v): v.map(Double.init)
        case .float32(let v): v.map(Double.init)
        }
    }
}

/// A problem with a reference folder or a canary: what is wrong, for a person.
public struct VerificationError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) { self.description = description }
}
