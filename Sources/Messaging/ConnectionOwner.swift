import Foundation
import Logging

/// The owner thread's loop: connect, run commands, send publishes, read frames, repeat.
///
/// - Important: Everything here runs on the client's own thread; it is the only code that
///   touches the rabbitmq-c connection.
struct ConnectionOwner {
    let client: AMQPClient
    private var connection: AMQPConnection?
    private var generation = 0
    private var consumerTags: [String] = []
    /// Published but not yet confirmed, by delivery tag.
    private var unconfirmed: [UInt64: AMQPClient.PendingPublish] = [:]
    private var nextTag: UInt64 = 1
    private var blocked = false
    private var failedAttempts = 0
    /// Which of the cluster's URLs to try next (modulo their count).
    private var nodeIndex = 0
    /// Since when new publishes wait for a renewal, and when the connection was last renewed
    /// (see `renewAfterRefusal`).
    private var renewingSince: ContinuousClock.Instant?
    private var renewedAt: ContinuousClock.Instant?
    private static let renewalInterval = Duration.seconds(5)
    private static let renewalDrain = Duration.seconds(5)
    private static let channel: UInt16 = 1
    private static let pollMs = 20

    init(client: AMQPClient) { self.client = client }

    private var logger: Logger { client.logger }

    mutating func run() {
        while true {
            if finishIfClosing() { return }
            guard let connection else {
                connect()
                continue
            }
            do {
                client.watchdog.arm(connection.socketDescriptor)
                defer { client.watchdog.disarm() }
                try runCommands(on: connection)
                try sendOutbox(on: connection)
                try readFrames(on: connection)
                try renewAfterRefusal(connection)
                client.watchdog.disarm()
                if !connection.hasBufferedData {
                    client.wake.wait(descriptor: connection.socketDescriptor, timeoutMs: Self.pollMs)
                }
            } catch {
                lose(connection, because: error)
            }
        }
    }

    // MARK: Connecting

    private mutating func connect() {
        let configuration = client.configuration
        let urls = [configuration.url] + configuration.alternates
        let url = urls[nodeIndex % urls.count]
        do {
            let candidate = try AMQPConnection.open(
                url, heartbeatSeconds: configuration.heartbeatSeconds,
                timeoutSeconds: configuration.connectTimeoutSeconds, channels: [Self.channel],
                name: configuration.name, generation: generation + 1, caCertificateFile: configuration.caCertificateFile, systemCAFile: configuration.systemCAFile)
            if configuration.confirms { try candidate.confirmSelect(channel: Self.channel) }
            let consuming = client.shared.withLock { $0.consuming }
            let session = AMQPSession(connection: candidate, channel: Self.channel, consumingAllowed: consuming)
            try client.setup(session)
            generation += 1
            connection = candidate
            consumerTags = session.consumerTags
            nextTag = 1
            blocked = false
            if failedAttempts > 0 {
                logger.notice("reconnected to the broker", metadata: ["amqp.url": "\(url)"])
                configuration.onReconnect?()
            } else {
                logger.info("connected to the broker", metadata: ["amqp.url": "\(url)"])
            }
            failedAttempts = 0
            let frameMax = candidate.frameMax
            let waiters = client.shared.withLock { shared in
                shared.connected = true
                shared.frameMax = frameMax
                shared.generation = generation
                defer { shared.connectedWaiters = [] }
                return shared.connectedWaiters
            }
            waiters.forEach { $0.resume() }
        } catch {
            client.shared.withLock { $0.lastError = error }
            failedAttempts += 1
            // The next node at once; the backoff only after every node was tried.
            nodeIndex += 1
            let roundDone = nodeIndex % urls.count == 0
            let rounds = (failedAttempts - 1) / urls.count
            let delay = roundDone ? AMQPClient.backoff(after: rounds, initial: configuration.reconnectInitialDelay,
                                                       max: configuration.reconnectMaxDelay) : 0
            logger.warning("cannot use the broker; retrying", metadata: [
                "amqp.url": "\(url)", "error": "\(error)", "attempt": "\(failedAttempts)",
                "retry_in_s": "\(String(format: "%.2f", delay))",
            ])
            if delay > 0 { client.wake.wait(descriptor: nil, timeoutMs: Int(delay * 1000)) }
        }
    }

    /// Drops a broken connection and queues its unconfirmed publishes to send again.
    private mutating func lose(_ broken: AMQPConnection, because error: any Error) {
        logger.warning("lost the broker connection; reconnecting", metadata: ["error": "\(error)"])
        broken.abandon()
        connection = nil
        renewingSince = nil  // the new connection is the renewal
        nodeIndex += 1  // another node of the cluster first (the same one when there is one)
        consumerTags = []
        var resend = unconfirmed.sorted { $0.key < $1.key }.map(\.value)
        unconfirmed = [:]
        // A publish the broker refuses for good (403: the user may not write to that exchange;
        // 404: there is no such exchange) closes the channel. Sent again on every reconnect it
        // would loop forever, so the publishes to the exchange the broker names fail instead.
        if let error = error as? AMQPError, error.code == .brokerClosed, [403, 404].contains(error.status) {
            func isRefused(_ pending: AMQPClient.PendingPublish) -> Bool {
                let exchange = pending.message.exchange.isEmpty ? "amq.default" : pending.message.exchange
                return error.reason.contains("exchange '\(exchange)'")
            }
            for pending in resend where isRefused(pending) { pending.continuation.resume(throwing: error) }
            resend.removeAll(where: isRefused)
        }
        client.shared.withLock { shared in
            shared.connected = false
            shared.outbox.insert(contentsOf: resend, at: 0)
        }
        failedAttempts = max(failedAttempts, 1)
    }

    // MARK: Work

    private mutating func runCommands(on connection: AMQPConnection) throws(AMQPError) {
        let commands = client.shared.withLock { shared in
            defer { shared.commands = [] }
            return shared.commands
        }
        for command in commands {
            switch command {
            case .ack(let tag, let from) where from == generation:
                try connection.ack(tag, channel: Self.channel)
            case .nack(let tag, let requeue, let from) where from == generation:
                try connection.nack(tag, requeue: requeue, channel: Self.channel)
            case .ack, .nack:
                logger.debug("dropped an ack for a delivery from an earlier connection; the broker redelivers it")
            case .cancelConsumers:
                client.shared.withLock { $0.consuming = false }
                for tag in consumerTags { try connection.cancel(consumerTag: tag, channel: Self.channel) }
                consumerTags = []
            }
        }
    }

    private mutating func sendOutbox(on connection: AMQPConnection) throws(AMQPError) {
        guard !blocked, renewingSince == nil else { return }
        let batch = client.shared.withLock { shared in
            defer { shared.outbox = [] }
            return shared.outbox
        }
        for (index, pending) in batch.enumerated() {
            do {
                try pending.message.validate(frameMax: connection.frameMax)
            } catch {
                // This message alone fails; the connection and the others are unharmed.
                pending.continuation.resume(throwing: error)
                continue
            }
            do {
                try connection.publish(pending.message, channel: Self.channel)
            } catch {
                // Put back what was not sent, in order, before the connection is dropped. A
                // message that could not be encoded fails for good instead of being sent again
                // on every reconnect; the connection still goes, since its frames may be half sent.
                let unsent = error.code == .unencodable ? batch[(index + 1)...] : batch[index...]
                if error.code == .unencodable { pending.continuation.resume(throwing: error) }
                client.shared.withLock { $0.outbox.insert(contentsOf: unsent, at: 0) }
                throw error
            }
            if client.configuration.confirms {
                unconfirmed[nextTag] = pending
                nextTag += 1
            } else {
                pending.continuation.resume(returning: .confirmed)
            }
        }
    }

    private mutating func readFrames(on connection: AMQPConnection) throws(AMQPError) {
        // Read everything that is there now; the first call may also wait up to 0 ms.
        while let event = try connection.nextEvent(timeoutMs: 0) {
            handle(event)
        }
    }

    /// With `renewAfterRefusal`, after a nack: holds new publishes until the broker has answered
    /// those in flight (at most `renewalDrain`), then closes the connection, so that the next
    /// publishes go out on a new one (to the next node of a cluster, when there is one). At most
    /// once per `renewalInterval`, and not while the client closes. Waiting for the answers keeps
    /// a message the broker took from being sent twice; past the wait the unanswered ones are
    /// sent again, as after any lost connection. RabbitMQ 3.10 can keep refusing every publish of
    /// one channel to a quorum queue whose leader's node stopped while that channel first
    /// published to it, for minutes, though the queue has a new leader (ClusterTests, about one
    /// run in ten). A queue that refuses for its own reasons (full, with `reject-publish`) costs
    /// a reconnect every few seconds.
    private mutating func renewAfterRefusal(_ connection: AMQPConnection) throws(AMQPError) {
        guard let since = renewingSince else { return }
        // A client that closes sends what it holds on this connection instead.
        guard client.shared.withLock({ if case .running = $0.lifecycle { true } else { false } }) else {
            renewingSince = nil
            return
        }
        guard unconfirmed.isEmpty || ContinuousClock.now - since >= Self.renewalDrain else { return }
        renewingSince = nil
        renewedAt = .now
        if unconfirmed.isEmpty { connection.close() }
        throw AMQPError(.notConfirmed, "the broker refused a publish; the next ones go out on a new connection")
    }

    private mutating func handle(_ event: AMQPConnection.Event) {
        switch event {
        case .delivery(let delivery):
            client.deliveryContinuation.yield(delivery)
        case .confirm(let tag, let multiple, let ack):
            let tags = multiple ? unconfirmed.keys.filter { $0 <= tag }.sorted() : [tag]
            for tag in tags {
                guard let pending = unconfirmed.removeValue(forKey: tag) else { continue }
                if !ack {
                    if client.configuration.renewAfterRefusal, renewingSince == nil,
                       renewedAt.map({ ContinuousClock.now - $0 >= Self.renewalInterval }) ?? true {
                        renewingSince = .now
                    }
                    pending.continuation.resume(throwing: AMQPError(.notConfirmed, "the broker refused the message (nack)"))
                } else if let reason = pending.returnedReason {
                    pending.continuation.resume(returning: .returned(reason))
                } else {
                    pending.continuation.resume(returning: .confirmed)
                }
            }
        case .returned(let messageID, let exchange, let routingKey, let reason):
            // Copies of one job (a retry, a dead letter) share its message id; the route tells
            // them apart, and the broker returns a message before it confirms it.
            let candidates = unconfirmed.filter {
                let message = $0.value.message
                return message.properties.messageID == messageID && message.exchange == exchange
                    && message.routingKey == routingKey && $0.value.returnedReason == nil
            }
            if let tag = candidates.keys.min() {
                unconfirmed[tag]?.returnedReason = reason
            }
            logger.warning("the broker returned an unroutable message", metadata: ["reason": "\(reason)"])
        case .blocked(let reason):
            blocked = true
            logger.warning("the broker blocked publishing", metadata: ["reason": "\(reason)"])
        case .unblocked:
            blocked = false
            logger.notice("the broker unblocked publishing")
        case .consumerCancelled(let tag):
            consumerTags.removeAll { $0 == tag }
            logger.warning("the broker cancelled a consumer; it restarts on the next connection",
                           metadata: ["consumer": "\(tag)"])
        }
    }

    // MARK: Closing

    /// Closes when shutdown was asked and nothing is outstanding, or the deadline passed.
    private mutating func finishIfClosing() -> Bool {
        let (lifecycle, outboxEmpty) = client.shared.withLock { ($0.lifecycle, $0.outbox.isEmpty) }
        guard case .closing(let deadline) = lifecycle else { return false }
        let drained = outboxEmpty && unconfirmed.isEmpty
        guard drained || connection == nil || ContinuousClock.now >= deadline else { return false }
        // Acks queued just before shutdown still go out; past the deadline the close handshake
        // is skipped, since the broker may not be reading.
        if drained, let connection { try? runCommands(on: connection) }
        if drained { connection?.close() } else { connection?.abandon() }
        connection = nil
        let error = AMQPError(.shutdown, "the \(client.configuration.name) client shut down before the broker confirmed")
        unconfirmed.values.forEach { $0.continuation.resume(throwing: error) }
        unconfirmed = [:]
        let (pending, waiters) = client.shared.withLock { shared in
            shared.lifecycle = .closed
            shared.connected = false
            defer {
                shared.outbox = []
                shared.commands = []
                shared.closedWaiters = []
                shared.connectedWaiters = []
            }
            return (shared.outbox, shared.closedWaiters + shared.connectedWaiters)
        }
        pending.forEach { $0.continuation.resume(throwing: error) }
        client.deliveryContinuation.finish()
        client.watchdog.stop()
        waiters.forEach { $0.resume() }
        logger.info("closed")
        return true
    }
}
