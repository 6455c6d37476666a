import CCrypto

/// SHA-256 through the system's libcrypto, which uses the CPU's SHA extensions where present.
public enum SHA256 {
    /// The lowercase hex digest of the bytes in `buffer`.
    public static func hex(_ buffer: UnsafeRawBufferPointer) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { out in
            var length: UInt32 = 0
            // EVP_Digest fails only when memory is exhausted; there is nothing to recover then.
            let status = EVP_Digest(buffer.baseAddress, buffer.count, out.baseAddress, &length,
                                    EVP_sha256(), nil)
            precondition(status == 1 && length == 32, "EVP_Digest(SHA-256) failed")
        }
        return hexString(digest)
    }

    /// The hex digest of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { hex($0) }
    }

    /// The hex digest of the float32 values' little-endian bytes.
    public static func hex(_ values: [Float]) -> String {
        values.withUnsafeBytes { hex($0) }
    }

    /// The hex digest of the UTF-8 bytes of `text`.
    public static func hex(_ text: String) -> String {
        hex(Array(text.utf8))
    }

    static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
