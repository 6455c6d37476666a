import Foundation
import Synchronization

/// A TCP proxy on loopback between workers and the test broker, for network faults: it can
/// reset every connection, freeze (stop forwarding without closing, as a partition does),
/// freeze one connection once it has sent a number of bytes (a stall in the middle of a large
/// publish), or delay every chunk.
final class TCPProxy: Sendable {
    enum Mode: Sendable, Equatable {
        case pass
        /// Nothing is forwarded either way; sockets stay open.
        case frozen
        /// Each chunk is held this many milliseconds before it is forwarded.
        case latency(Int)
    }

    let port: UInt16
    private let listener: Int32
    private let targetPort: UInt16
    private let mode = Mutex(Mode.pass)
    /// Freeze the first connection whose client sends more than this many bytes.
    private let freezeAfter = Mutex<Int?>(nil)
    /// When that connection froze.
    let frozeAt = Mutex<Date?>(nil)
    private let connections = Mutex<[Int32: Int32]>([:])
    private let stopped = Atomic<Bool>(false)

    init(targetPort: UInt16) throws {
        self.targetPort = targetPort
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        // A small receive window (inherited by accepted sockets), so that a frozen connection
        // stops the sender soon, as a real partition does, instead of after megabytes of
        // loopback buffering.
        var window: Int32 = 64 << 10
        setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &window, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw HarnessError("the proxy cannot listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "test-proxy"
        thread.start()
    }

    /// The broker URL `url` with its port replaced by the proxy's.
    func url(for url: String) -> String {
        url.replacingOccurrences(of: ":\(targetPort)/", with: ":\(port)/")
    }

    func set(_ newMode: Mode) { mode.withLock { $0 = newMode } }

    /// Freezes the first connection whose client then sends more than `bytes`.
    func freezeConnection(afterSending bytes: Int) { freezeAfter.withLock { $0 = bytes } }

    /// Resets every connection (RST, as a crashed middlebox or a dropped NAT entry does).
    func resetAll() {
        let pairs = connections.withLock { pairs in defer { pairs = [:] }; return pairs }
        var linger = linger(l_onoff: 1, l_linger: 0)
        for (client, server) in pairs {
            for descriptor in [client, server] {
                setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                shutdown(descriptor, Int32(SHUT_RDWR))
            }
        }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        resetAll()
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(client)
                close(server)
                continue
            }
            connections.withLock { $0[client] = server }
            let thread = Thread { [self] in pump(client: client, server: server) }
            thread.name = "test-proxy-connection"
            thread.start()
        }
    }

    /// Forwards both ways until either side closes, obeying the mode.
    private func pump(client: Int32, server: Int32) {
        defer {
            close(client)
            close(server)
            connections.withLock { $0[client] = nil }
        }
        var held: [(due: ContinuousClock.Instant, to: Int32, bytes: [UInt8])] = []
        var sentByClient = 0
        var frozenHere = false
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while !stopped.load(ordering: .relaxed) {
            let current = mode.withLock { $0 }
            if current == .frozen || frozenHere {
                usleep(10_000)
                continue
            }
            let now = ContinuousClock.now
            while let first = held.first, first.due <= now {
                guard send(first.to, first.bytes) else { return }
                held.removeFirst()
            }
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 10) >= 0 else { return }
            for (index, fd) in fds.enumerated() where fd.revents != 0 {
                let count = read(fd.fd, &buffer, buffer.count)
                guard count > 0 else { return }
                let bytes = Array(buffer[0..<count])
                let to = index == 0 ? server : client
                if index == 0 {
                    sentByClient += count
                    let limit = freezeAfter.withLock { $0 }
                    if let limit, sentByClient > limit {
                        freezeAfter.withLock { $0 = nil }
                        frozeAt.withLock { $0 = Date() }
                        frozenHere = true
                    }
                }
                if case .latency(let ms) = current {
                    held.append((.now + .milliseconds(ms), to, bytes))
                } else if !frozenHere {
                    guard send(to, bytes) else { return }
                }
            }
        }
    }

    private func send(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + sent, bytes.count - sent) }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }
}
