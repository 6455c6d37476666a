import Foundation

/// Length-prefixed frames over a pipe between the supervisor and a child process.
///
/// A frame is a 4-byte little-endian length, a kind byte, and the payload. The supervisor
/// sends `job` frames; the child answers `ready` once at start, then one `result` per job.
struct ChildFrame: Sendable, Equatable {
    enum Kind: UInt8, Sendable {
        /// Child to parent: the pipeline is loaded and the child takes jobs.
        case ready = 1
        /// Parent to child: a job header (JSON) and its body.
        case job = 2
        /// Child to parent: a result as JSON.
        case result = 3
        /// Child to parent: the child cannot run (its config did not load); text says why.
        case fatal = 4
    }

    /// The largest frame either side accepts.
    static let maxPayload = 1 << 30

    var kind: Kind
    var payload: [UInt8]

    var encoded: [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(5 + payload.count)
        withUnsafeBytes(of: UInt32(payload.count + 1).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(kind.rawValue)
        bytes.append(contentsOf: payload)
        return bytes
    }
}

/// What the child needs to know of a delivery besides its body.
struct ChildJobHeader: Codable, Sendable {
    var messageID: String?
    var attempt: Int
    var redelivered: Bool

    /// The frame that carries this header and `body`: header length, header JSON, body.
    func frame(body: [UInt8]) -> ChildFrame {
        let header = Array((try? JSONEncoder().encode(self)) ?? Data())
        var payload = [UInt8]()
        payload.reserveCapacity(4 + header.count + body.count)
        withUnsafeBytes(of: UInt32(header.count).littleEndian) { payload.append(contentsOf: $0) }
        payload += header
        payload += body
        return ChildFrame(kind: .job, payload: payload)
    }

    /// Splits a job frame's payload into its header and body.
    static func split(_ payload: [UInt8]) -> (ChildJobHeader, [UInt8])? {
        guard payload.count >= 4 else { return nil }
        let length = Int(UInt32(littleEndian: payload[0..<4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
        guard 4 + length <= payload.count,
              let header = try? JSONDecoder().decode(ChildJobHeader.self, from: Data(payload[4..<(4 + length)]))
        else { return nil }
        return (header, Array(payload[(4 + length)...]))
    }
}

/// Reads and writes frames on a pair of descriptors, blocking.
struct ChildChannel {
    let input: Int32
    let output: Int32
    private var buffer: [UInt8] = []

    init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    /// Why a read ended without a frame.
    enum ReadEnd: Error {
        /// The other side closed its end (a child that died, a parent that went away).
        case closed
        /// The frame's length is impossible.
        case malformed(String)
    }

    /// Writes one frame whole; false when the other end is gone.
    func write(_ frame: ChildFrame) -> Bool {
        let bytes = frame.encoded
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(output, $0.baseAddress! + sent, bytes.count - sent) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    /// A complete frame if the buffer holds one.
    private mutating func takeFrame() throws(ReadEnd) -> ChildFrame? {
        guard buffer.count >= 4 else { return nil }
        let length = Int(UInt32(littleEndian: buffer[0..<4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
        guard length >= 1, length <= ChildFrame.maxPayload + 1 else { throw .malformed("a frame of \(length) bytes") }
        guard buffer.count >= 4 + length else { return nil }
        guard let kind = ChildFrame.Kind(rawValue: buffer[4]) else { throw .malformed("a frame of kind \(buffer[4])") }
        let frame = ChildFrame(kind: kind, payload: Array(buffer[5..<(4 + length)]))
        buffer.removeFirst(4 + length)
        return frame
    }

    /// Reads until a frame is complete. `poll` is called every `intervalMs` while waiting and
    /// returns false to give up (the read then returns nil).
    mutating func read(intervalMs: Int32 = 100, poll keepWaiting: () -> Bool = { true }) throws(ReadEnd) -> ChildFrame? {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if let frame = try takeFrame() { return frame }
            var descriptor = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            let ready = Glibc.poll(&descriptor, 1, intervalMs)
            if ready == 0 || (ready < 0 && errno == EINTR) {
                guard keepWaiting() else { return nil }
                continue
            }
            let count = chunk.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR || errno == EAGAIN { continue }
            guard count > 0 else { throw .closed }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }
}
