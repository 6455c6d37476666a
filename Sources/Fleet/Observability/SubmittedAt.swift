import Core

extension JobHandler {
    /// The job's `submitted_at`, found in the body without parsing it whole (a body may be
    /// 64 MiB of base64; the supervisor only needs this one field, for the queue-wait metric).
    /// nil when absent or not RFC 3339; a hostile body can at worst skew that metric.
    static func submittedAt(in body: [UInt8]) -> String? {
        let key = Array("\"submitted_at\"".utf8)
        guard body.count >= key.count else { return nil }
        return body.withUnsafeBufferPointer { bytes -> String? in
            var index = 0
            while index + key.count <= bytes.count {
                guard let first = bytes[index...].firstIndex(of: key[0]) else { return nil }
                index = first
                guard index + key.count <= bytes.count else { return nil }
                if bytes[index..<(index + key.count)].elementsEqual(key) {
                    var position = index + key.count
                    func skipSpace() { while position < bytes.count, [9, 10, 13, 32].contains(bytes[position]) { position += 1 } }
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
                    position += 1
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
                    let start = position + 1
                    guard let end = bytes[start..<min(bytes.count, start + 64)].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                    let text = String(decoding: bytes[start..<end], as: UTF8.self)
                    return RFC3339.isValid(text) ? text : nil
                }
                index += 1
            }
            return nil
        }
    }
}
