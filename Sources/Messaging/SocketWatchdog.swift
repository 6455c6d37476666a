import Foundation
import Synchronization

/// Bounds every blocking socket call of one connection owner in time.
///
/// rabbitmq-c uses non-blocking sockets but waits in `poll` with no deadline while it sends
/// (a publish, an ack, a heartbeat), so a peer that stops reading without closing (a network
/// partition, a frozen proxy) would hold the owner thread until TCP gives up, many minutes
/// later, with no heartbeat sent or checked. The owner arms the watchdog around its socket
/// work; while armed, a thread of the watchdog's own checks the socket's send queue. When no
/// byte has left it for `stallLimit`, the watchdog shuts the socket down, the blocked call
/// returns an error, and the owner reconnects.
///
/// - Important: Only `shutdown(2)` is called on the descriptor from the watchdog's thread;
///   the connection itself stays the owner's alone.
final class SocketWatchdog: Sendable {
    private struct Armed {
        var descriptor: Int32
        var lastProgress: ContinuousClock.Instant
        var queued: Int32
        var received: Int32
    }

    private let armed = Mutex<Armed?>(nil)
    private let stopped = Atomic<Bool>(false)
    private let stallLimit: Duration
    private let onStall: @Sendable (Duration) -> Void

    /// `stallLimit` is how long the socket may make no progress while armed.
    init(name: String, stallLimit: Duration, onStall: @escaping @Sendable (Duration) -> Void) {
        self.stallLimit = stallLimit
        self.onStall = onStall
        let thread = Thread { [self] in watch() }
        thread.name = "amqp-watchdog-\(name)"
        thread.start()
    }

    /// Watches `descriptor` until `disarm`.
    func arm(_ descriptor: Int32) {
        guard descriptor >= 0 else { return }
        armed.withLock {
            $0 = Armed(descriptor: descriptor, lastProgress: .now, queued: Self.queued(descriptor),
                       received: Self.received(descriptor))
        }
    }

    func disarm() { armed.withLock { $0 = nil } }

    /// Ends the watchdog's thread within one check interval.
    func stop() { stopped.store(true, ordering: .relaxed) }

    private func watch() {
        let limitMs = stallLimit.components.seconds * 1000 + stallLimit.components.attoseconds / 1_000_000_000_000_000
        let intervalMs = max(20, min(250, limitMs / 8))
        while !stopped.load(ordering: .relaxed) {
            usleep(UInt32(intervalMs * 1000))
            let stalled = armed.withLock { state -> (Int32, Duration)? in
                guard var current = state else { return nil }
                let now = ContinuousClock.now
                let queued = Self.queued(current.descriptor)
                let received = Self.received(current.descriptor)
                // Bytes left the send queue (or it is empty and the call waits on a read, which
                // rabbitmq-c bounds itself), or bytes arrived (the broker's heartbeats while it
                // blocks publishers on an alarm and stops reading): the peer is alive.
                // The queue growing is this side writing, not the peer reading: no progress.
                let progressed = queued < current.queued || queued == 0 || received != current.received
                current.queued = queued
                current.received = received
                if progressed { current.lastProgress = now }
                state = current
                guard now - current.lastProgress >= stallLimit else { return nil }
                state = nil
                return (current.descriptor, now - current.lastProgress)
            }
            if let (descriptor, stalledFor) = stalled {
                shutdown(descriptor, Int32(SHUT_RDWR))
                onStall(stalledFor)
            }
        }
    }

    /// Bytes that arrived on the socket and were not read yet.
    private static func received(_ descriptor: Int32) -> Int32 {
        var count: Int32 = 0
        return ioctl(descriptor, UInt(FIONREAD), &count) == 0 ? count : -1
    }

    /// Bytes in the socket's send queue not yet acknowledged by the peer.
    private static func queued(_ descriptor: Int32) -> Int32 {
        var count: Int32 = 0
        return ioctl(descriptor, UInt(TIOCOUTQ), &count) == 0 ? count : -1
    }
}
