import Foundation
import Logging
import Synchronization

/// A broker connection owned by one thread, with a thread-safe async API.
///
/// rabbitmq-c is not thread-safe and sends heartbeats only while one of its calls runs, so a
/// dedicated thread owns the connection and polls it every few milliseconds, whatever the
/// rest of the process is doing. Publishes, acks and cancels are handed to that thread.
///
/// The client reconnects with exponential backoff and jitter. After a reconnect it runs
/// `setup` again (declarations, consumers) and republishes every message the broker had not
/// confirmed, so `publish` returns only once the broker has the message.
public final class AMQPClient: Sendable {
    /// How to reach the broker and how to behave when it is away.
    public struct Configuration: Sendable {
        public var url: AMQPURL
        /// Other nodes of the same cluster. The client connects to the first of `url` and these
        /// that answers, and after losing a connection tries the next one first.
        public var alternates: [AMQPURL] = []
        /// Names the client in logs.
        public var name: String
        /// Heartbeat interval the client asks for; 0 turns heartbeats off.
        public var heartbeatSeconds = 30
        public var connectTimeoutSeconds = 10
        /// First and largest wait between reconnect attempts; each wait is jittered down by up to half.
        public var reconnectInitialDelay = 0.2
        public var reconnectMaxDelay = 10.0
        /// Put the channel in confirm mode, so that `publish` waits for the broker.
        public var confirms = true
        /// After the broker refuses a publish (a nack), take a new connection once the publishes
        /// in flight are answered, at most every 5 s: a channel can stay refusing after a cluster
        /// node left (`ConnectionOwner.renewAfterRefusal`). The worker's publisher turns it on.
        public var renewAfterRefusal = false
        /// Called on the client's thread each time it connects again after losing the broker
        /// (for a reconnect counter); keep it quick.
        public var onReconnect: (@Sendable () -> Void)?
        /// For `amqps://`: a PEM file of the CAs to trust, besides the system's
        /// (default: `$GRADELINE_AMQP_CACERT`).
        public var caCertificateFile = ProcessInfo.processInfo.environment["GRADELINE_AMQP_CACERT"]
        /// For `amqps://`: the system's CA bundle, trusted too (default: `systemCABundle()`;
        /// nil trusts only `caCertificateFile`).
        public var systemCAFile = Configuration.systemCABundle()

        /// The system's CA bundle: `$SSL_CERT_FILE` if set, else the first that exists of the
        /// Debian/Ubuntu, Red Hat and Alpine/BSD paths. rabbitmq-c's TLS socket trusts no CA
        /// until one is loaded (it never loads OpenSSL's default paths), so without this a broker
        /// with a publicly trusted certificate would be refused.
        public static func systemCABundle(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
            if let file = environment["SSL_CERT_FILE"], !file.isEmpty { return file }
            return ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]
                .first { FileManager.default.fileExists(atPath: $0) }
        }

        public init(url: AMQPURL, name: String) {
            self.url = url
            self.name = name
        }
    }

    /// Runs on the owner thread after every connect.
    public typealias Setup = @Sendable (AMQPSession) throws(AMQPError) -> Void

    struct PendingPublish: Sendable {
        var message: OutgoingMessage
        var continuation: CheckedContinuation<PublishOutcome, any Error>
        var returnedReason: String?
    }

    enum Command: Sendable {
        case ack(tag: UInt64, generation: Int)
        case nack(tag: UInt64, requeue: Bool, generation: Int)
        case cancelConsumers
    }

    enum Lifecycle: Sendable {
        case running
        case closing(deadline: ContinuousClock.Instant)
        case closed
    }

    /// What the caller threads and the owner thread share.
    struct Shared: Sendable {
        var outbox: [PendingPublish] = []
        var commands: [Command] = []
        var lifecycle = Lifecycle.running
        var consuming = true
        var connected = false
        var connectedWaiters: [CheckedContinuation<Void, Never>] = []
        /// Why the last connect failed, for callers that give up waiting.
        var lastError: AMQPError?
        /// The frame size of the current (or last) connection; publishes are checked against it.
        var frameMax = AMQPClient.requestedFrameMax
        /// Which connection is current; deliveries of another one can no longer be acked.
        var generation = 0
        var closedWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let configuration: Configuration
    let logger: Logger
    let setup: Setup
    let shared = Mutex(Shared())
    let wake: WakePipe
    let watchdog: SocketWatchdog
    /// The frame size the client asks for at login.
    static let requestedFrameMax = 131_072
    /// Messages from the consumers that `setup` started, in arrival order.
    public let deliveries: AsyncStream<Delivery>
    let deliveryContinuation: AsyncStream<Delivery>.Continuation

    /// Starts the owner thread, which connects in the background.
    public init(configuration: Configuration, logger: Logger, setup: @escaping Setup) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "amqp.client"] = "\(configuration.name)"
        self.logger = logger
        self.setup = setup
        wake = WakePipe()
        // A socket that makes no progress for two heartbeats is dead (60 s without heartbeats).
        let heartbeat = configuration.heartbeatSeconds
        let watchLogger = self.logger
        watchdog = SocketWatchdog(name: configuration.name, stallLimit: .seconds(heartbeat > 0 ? 2 * heartbeat : 60)) { stalled in
            watchLogger.warning("the broker connection made no progress; dropping it", metadata: ["stalled_s": "\(stalled)"])
        }
        (deliveries, deliveryContinuation) = AsyncStream.makeStream(of: Delivery.self)
        let thread = Thread { [self] in
            var owner = ConnectionOwner(client: self)
            owner.run()
        }
        thread.name = "amqp-\(configuration.name)"
        thread.start()
    }

    /// Seconds to wait after `failures` failures in a row (0 for the first wait): `initial`
    /// doubling up to `max`, each cut by up to half at random.
    public static func backoff(after failures: Int, initial: Double, max: Double) -> Double {
        Swift.min(max, initial * pow(2, Double(Swift.min(failures, 20)))) * Double.random(in: 0.5...1.0)
    }

    /// Publishes and waits until the broker confirms (or, without confirms, until it is sent).
    /// Survives reconnects: an unconfirmed message is sent again on the next connection.
    ///
    /// A message that cannot be encoded (see `OutgoingMessage.validate`) fails at once with
    /// `.unencodable`; it never reaches the connection.
    public func publish(_ message: OutgoingMessage) async throws -> PublishOutcome {
        var message = message
        if message.properties.messageID == nil {
            message.properties.messageID = "gl-" + UUID().uuidString.lowercased()
        }
        try message.validate(frameMax: shared.withLock { $0.frameMax })
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = shared.withLock { shared -> Bool in
                guard case .running = shared.lifecycle else { return false }
                shared.outbox.append(PendingPublish(message: message, continuation: continuation))
                return true
            }
            if accepted {
                wake.signal()
            } else {
                continuation.resume(throwing: AMQPError(.shutdown, "the \(configuration.name) client is shutting down"))
            }
        }
    }

    /// Acknowledges a delivery. An ack for a delivery from an earlier connection is dropped:
    /// the broker has already requeued that message.
    public func ack(_ delivery: Delivery) {
        enqueue(.ack(tag: delivery.deliveryTag, generation: delivery.connectionGeneration))
    }

    /// Rejects a delivery, putting it back in its queue when `requeue` is true.
    public func nack(_ delivery: Delivery, requeue: Bool) {
        enqueue(.nack(tag: delivery.deliveryTag, requeue: requeue, generation: delivery.connectionGeneration))
    }

    /// Stops every consumer, now and after reconnects, without waiting for the broker: a
    /// connection that is down or blocked must not hold up a shutdown.
    public func stopConsuming() {
        shared.withLock { $0.consuming = false }
        enqueue(.cancelConsumers)
    }

    /// Returns once the client is connected and set up.
    public func waitUntilConnected() async {
        await withCheckedContinuation { continuation in
            let now = shared.withLock { shared -> Bool in
                if shared.connected { return true }
                shared.connectedWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Waits up to `timeout` for a connection; throws the last connect error after that.
    public func waitUntilConnected(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while !isConnected {
            guard ContinuousClock.now < deadline else {
                let error = shared.withLock { $0.lastError }
                throw AMQPError(.connection, "no connection to \(([configuration.url] + configuration.alternates).map(\.description).joined(separator: ", ")) within \(timeout): \(error?.description ?? "no answer")")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public var isConnected: Bool { shared.withLock { $0.connected } }

    /// True while the connection that received `delivery` is the current one, so that an ack
    /// for it can still reach the broker. A delivery that arrived just before its connection
    /// was lost is false here: the broker redelivers it, so it should not be started.
    public func isCurrent(_ delivery: Delivery) -> Bool {
        shared.withLock { $0.connected && $0.generation == delivery.connectionGeneration }
    }

    /// Sends what is queued, waits up to `deadline` for outstanding confirms, then closes.
    /// Publishes still unconfirmed then fail with `.shutdown`.
    public func shutdown(deadline: Duration = .seconds(5)) async {
        await withCheckedContinuation { continuation in
            let done = shared.withLock { shared -> Bool in
                if case .closed = shared.lifecycle { return true }
                if case .running = shared.lifecycle {
                    shared.lifecycle = .closing(deadline: .now + deadline)
                }
                shared.closedWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() } else { wake.signal() }
        }
    }

    private func enqueue(_ command: Command) {
        shared.withLock { $0.commands.append(command) }
        wake.signal()
    }
}

/// A self-pipe that wakes the owner thread out of `poll` when there is work.
final class WakePipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init() {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0, "pipe() failed: \(errno)")
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)  // never inherited by a pipeline process
        }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }

    /// Waits until `descriptor` is readable, the pipe is signalled, or `timeoutMs` passes.
    func wait(descriptor: Int32?, timeoutMs: Int) {
        var fds = [pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)]
        if let descriptor, descriptor >= 0 {
            fds.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
        }
        _ = poll(&fds, nfds_t(fds.count), Int32(timeoutMs))
        drain()
    }
}
