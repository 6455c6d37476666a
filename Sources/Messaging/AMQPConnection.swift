import CRabbitMQ
import Foundation

/// One rabbitmq-c connection with its channels. Every call blocks.
///
/// - Important: rabbitmq-c is not thread-safe per connection. Only the thread of the
///   `AMQPClient` that created it may call it, and it is never touched from the cooperative pool.
final class AMQPConnection {
    /// Something the broker sent that the owner must handle.
    enum Event {
        case delivery(Delivery)
        /// A publisher confirm: `ack` false is a nack.
        case confirm(tag: UInt64, multiple: Bool, ack: Bool)
        /// A mandatory message no queue took; a confirm for it follows.
        case returned(messageID: String?, exchange: String, routingKey: String, reason: String)
        case blocked(String)
        case unblocked
        /// The broker cancelled a consumer (its queue was deleted, say).
        case consumerCancelled(String)
    }

    private let state: amqp_connection_state_t
    private var isOpen = false
    let generation: Int

    private init(state: amqp_connection_state_t, generation: Int) {
        self.state = state
        self.generation = generation
    }

    /// Connects, logs in and opens `channels`. Cleans up a half-made connection on failure.
    static func open(_ url: AMQPURL, heartbeatSeconds: Int, timeoutSeconds: Int, channels: [UInt16],
                     name: String, generation: Int, caCertificateFile: String? = nil,
                     systemCAFile: String? = nil) throws(AMQPError) -> AMQPConnection {
        guard let state = amqp_new_connection() else {
            throw AMQPError(.library, "no memory for an AMQP connection")
        }
        let connection = AMQPConnection(state: state, generation: generation)
        let socket = url.tls ? amqp_ssl_socket_new(state) : amqp_tcp_socket_new(state)
        guard let socket else {
            throw AMQPError(.library, "cannot create a \(url.tls ? "TLS" : "TCP") socket")
        }
        if url.tls {
            // TLS verifies the broker's certificate and host name against the system's CAs and
            // the configured file. rabbitmq-c trusts nothing by default (it never calls
            // SSL_CTX_set_default_verify_paths); each file loaded adds to the trusted set.
            amqp_ssl_socket_set_verify_peer(socket, 1)
            amqp_ssl_socket_set_verify_hostname(socket, 1)
            for caFile in [systemCAFile, caCertificateFile].compactMap({ $0 }) {
                let status = amqp_ssl_socket_set_cacert(socket, caFile)
                if status != AMQP_STATUS_OK.rawValue { throw AMQPError.library(status, "CA file \(caFile)") }
            }
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        let status = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError.library(status, "connecting to \(url.host):\(url.port)")
        }
        _ = amqp_set_handshake_timeout(state, &timeout)
        _ = amqp_set_rpc_timeout(state, &timeout)
        let reply = crabbitmq_login_plain(state, url.vhost, 0, 131_072, Int32(heartbeatSeconds),
                                          url.user, url.password)
        do {
            try AMQPError.check(reply, "logging in to \(url) as \(name)")
        } catch {
            if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION,
               reply.library_error == AMQP_STATUS_SOCKET_CLOSED.rawValue
                || reply.library_error == AMQP_STATUS_CONNECTION_CLOSED.rawValue {
                throw AMQPError(.authentication, "\(url): the broker closed the connection at login; check the user and password",
                                retriable: true)
            }
            throw error
        }
        connection.isOpen = true
        for channel in channels {
            amqp_channel_open(state, channel)
            try AMQPError.check(amqp_get_rpc_reply(state), "opening channel \(channel)")
        }
        return connection
    }

    deinit {
        if isOpen {
            _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
        }
        amqp_destroy_connection(state)
    }

    /// Closes politely, waiting at most a second for the broker (a blocked broker stops
    /// reading); errors are ignored since the connection is going away anyway.
    func close() {
        guard isOpen else { return }
        isOpen = false
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        _ = amqp_set_rpc_timeout(state, &timeout)
        _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
    }

    /// Marks the connection dead without the close handshake (after a socket error).
    func abandon() { isOpen = false }

    var socketDescriptor: Int32 { amqp_get_sockfd(state) }

    /// The largest frame the broker and client agreed on at login.
    var frameMax: Int { Int(amqp_get_frame_max(state)) }

    /// True when rabbitmq-c holds frames or bytes not yet handled.
    var hasBufferedData: Bool { amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 }

    // MARK: Declarations

    func declareExchange(_ name: String, type: String, channel: UInt16) throws(AMQPError) {
        let strings = CStrings()
        defer { withExtendedLifetime(strings) {} }
        amqp_exchange_declare(state, channel, strings.bytes(name), strings.bytes(type),
                              0, 1, 0, 0, amqp_empty_table)
        try AMQPError.check(amqp_get_rpc_reply(state), "declaring exchange '\(name)'")
    }

    /// Checks that an exchange exists (a passive declare, which needs no permission); a missing
    /// one closes the channel with 404.
    func checkExchange(_ name: String, channel: UInt16) throws(AMQPError) {
        let strings = CStrings()
        defer { withExtendedLifetime(strings) {} }
        amqp_exchange_declare(state, channel, strings.bytes(name), strings.bytes("topic"),
                              1, 0, 0, 0, amqp_empty_table)
        try AMQPError.check(amqp_get_rpc_reply(state), "checking exchange '\(name)'")
    }

    /// Declares a queue; an empty name asks the broker for one. Returns the queue's name.
    @discardableResult
    func declareQueue(_ name: String, durable: Bool, exclusive: Bool, autoDelete: Bool,
                      arguments: [String: AMQPValue], channel: UInt16) throws(AMQPError) -> String {
        let strings = CStrings()
        defer { withExtendedLifetime(strings) {} }
        let table = AMQPTable(arguments)
        defer { withExtendedLifetime(table) {} }  // rabbitmq-c reads the table's memory in the call
        let ok = amqp_queue_declare(state, channel, strings.bytes(name), 0, durable ? 1 : 0,
                                    exclusive ? 1 : 0, autoDelete ? 1 : 0, table.view)
        try AMQPError.check(amqp_get_rpc_reply(state), "declaring queue '\(name)'")
        return ok.map { string($0.pointee.queue) } ?? name
    }

    func bindQueue(_ queue: String, exchange: String, routingKey: String, channel: UInt16) throws(AMQPError) {
        let strings = CStrings()
        defer { withExtendedLifetime(strings) {} }
        amqp_queue_bind(state, channel, strings.bytes(queue), strings.bytes(exchange),
                        strings.bytes(routingKey), amqp_empty_table)
        try AMQPError.check(amqp_get_rpc_reply(state), "binding queue '\(queue)' to '\(exchange)' with '\(routingKey)'")
    }

    /// The number of messages ready in a queue (a passive declare).
    func messageCount(_ queue: String, channel: UInt16) throws(AMQPError) -> Int {
        let strings = CStrings()
        defer { withExtendedLifetime(strings) {} }
        let ok = amqp_queue_declare(state, channel, strings.bytes(queue), 1, 0, 0, 0, amqp_empty_table)
        try AMQPError.check(amqp_get_rpc_reply(state), "checking queue '\(queue)'")
        return Int(ok?.pointee.message_count ?? 0)
    }

    func purgeQueue(_ queue: String, channel: UInt16) throws(AMQPError) {
        let strings = CStrings()
        defer { withExtendedLifetime(strings) {} }
        amqp_queue_purge(state, channel, strings.bytes(queue))
        try AMQPError.check(amqp_get_rpc_reply(state), "purging queue '\(queue)'")
    }

    // MARK: Consuming and publishing

    func qos(prefetch: Int, channel: UInt16) throws(AMQPError) {
        amqp_basic_qos(state, channel, 0, UInt16(clamping: prefetch), 0)
        try AMQPError.check(amqp_get_rpc_reply(state), "setting prefetch \(prefetch)")
    }

    /// Starts a consumer with manual acks and returns its tag.
    func consume(_ queue: String, channel: UInt16) throws(AMQPError) -> String {
        let strings = CStrings()
        defer { withExtendedLifetime(strings) {} }
        let ok = amqp_basic_consume(state, channel, strings.bytes(queue), amqp_empty_bytes, 0, 0, 0,
                                    amqp_empty_table)
        try AMQPError.check(amqp_get_rpc_reply(state), "consuming from '\(queue)'")
        return ok.map { string($0.pointee.consumer_tag) } ?? ""
    }

    func cancel(consumerTag: String, channel: UInt16) throws(AMQPError) {
        let strings = CStrings()
        defer { withExtendedLifetime(strings) {} }
        amqp_basic_cancel(state, channel, strings.bytes(consumerTag))
        try AMQPError.check(amqp_get_rpc_reply(state), "cancelling consumer \(consumerTag)")
    }

    func confirmSelect(channel: UInt16) throws(AMQPError) {
        amqp_confirm_select(state, channel)
        try AMQPError.check(amqp_get_rpc_reply(state), "enabling publisher confirms")
    }

    func publish(_ message: OutgoingMessage, channel: UInt16) throws(AMQPError) {
        let strings = CStrings()
        defer { withExtendedLifetime(strings) {} }
        var raw = amqp_basic_properties_t()
        var flags: UInt32 = UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        raw.delivery_mode = message.properties.persistent ? 2 : 1
        let headers = AMQPTable(message.properties.headers)
        defer { withExtendedLifetime(headers) {} }  // rabbitmq-c reads the headers' memory in the call
        if !message.properties.headers.isEmpty {
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
            raw.headers = headers.view
        }
        // The C strings must outlive amqp_basic_publish, so they are held here.
        let contentType = message.properties.contentType.map { Array($0.utf8CString) }
        let messageID = message.properties.messageID.map { Array($0.utf8CString) }
        let correlationID = message.properties.correlationID.map { Array($0.utf8CString) }
        let expiration = message.properties.expirationMs.map { Array(String($0).utf8CString) }
        let status: Int32 = withBytes(contentType) { contentTypeBytes in
            withBytes(messageID) { messageIDBytes in
                withBytes(correlationID) { correlationIDBytes in
                    withBytes(expiration) { expirationBytes in
                        if let contentTypeBytes { flags |= UInt32(AMQP_BASIC_CONTENT_TYPE_FLAG); raw.content_type = contentTypeBytes }
                        if let messageIDBytes { flags |= UInt32(AMQP_BASIC_MESSAGE_ID_FLAG); raw.message_id = messageIDBytes }
                        if let correlationIDBytes { flags |= UInt32(AMQP_BASIC_CORRELATION_ID_FLAG); raw.correlation_id = correlationIDBytes }
                        if let expirationBytes { flags |= UInt32(AMQP_BASIC_EXPIRATION_FLAG); raw.expiration = expirationBytes }
                        raw._flags = flags
                        return message.body.withUnsafeBytes { body in
                            amqp_basic_publish(state, channel, strings.bytes(message.exchange),
                                               strings.bytes(message.routingKey),
                                               message.mandatory ? 1 : 0, 0, &raw,
                                               amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
                        }
                    }
                }
            }
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            var error = AMQPError.library(status, "publishing to '\(message.exchange)' with key '\(message.routingKey)'")
            if Self.encodingStatuses.contains(status) {
                error.code = .unencodable
                error.isRetriable = false
            }
            throw error
        }
    }

    /// rabbitmq-c statuses that mean the message could not be encoded, not that the socket failed.
    private static let encodingStatuses: Set<Int32> = [
        AMQP_STATUS_TABLE_TOO_BIG.rawValue, AMQP_STATUS_BAD_AMQP_DATA.rawValue, AMQP_STATUS_INVALID_PARAMETER.rawValue,
        AMQP_STATUS_UNKNOWN_CLASS.rawValue, AMQP_STATUS_UNKNOWN_METHOD.rawValue,
    ]

    func ack(_ tag: UInt64, channel: UInt16) throws(AMQPError) {
        let status = amqp_basic_ack(state, channel, tag, 0)
        guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError.library(status, "acking delivery \(tag)") }
    }

    func nack(_ tag: UInt64, requeue: Bool, channel: UInt16) throws(AMQPError) {
        let status = amqp_basic_nack(state, channel, tag, 0, requeue ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError.library(status, "nacking delivery \(tag)") }
    }

    // MARK: Reading

    /// The next event, or nil when nothing arrives within `timeoutMs`. Heartbeats are sent
    /// and checked inside this call.
    func nextEvent(timeoutMs: Int) throws(AMQPError) -> Event? {
        defer { amqp_maybe_release_buffers(state) }
        var frame = amqp_frame_t()
        var timeout = timeval(tv_sec: timeoutMs / 1000, tv_usec: Int((timeoutMs % 1000) * 1000))
        let status = amqp_simple_wait_frame_noblock(state, &frame, &timeout)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        guard status == AMQP_STATUS_OK.rawValue else {
            isOpen = false
            throw AMQPError.library(status, "reading from the broker")
        }
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return nil }
        let method = frame.payload.method
        let channel = frame.channel
        switch method.id {
        case crabbitmq_basic_deliver:
            // Copy the method's fields before reading the content: both live in pooled memory.
            let deliver = method.decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let exchange = string(deliver.exchange), routingKey = string(deliver.routing_key)
            let consumerTag = string(deliver.consumer_tag)
            var message = amqp_message_t()
            try AMQPError.check(amqp_read_message(state, channel, &message, 0), "reading a delivered message")
            defer { amqp_destroy_message(&message) }
            return .delivery(Delivery(
                body: array(message.body), properties: MessageProperties(message.properties),
                exchange: exchange, routingKey: routingKey, redelivered: deliver.redelivered != 0,
                consumerTag: consumerTag, deliveryTag: deliver.delivery_tag, connectionGeneration: generation))
        case crabbitmq_basic_ack:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .confirm(tag: ack.delivery_tag, multiple: ack.multiple != 0, ack: true)
        case crabbitmq_basic_nack:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .confirm(tag: nack.delivery_tag, multiple: nack.multiple != 0, ack: false)
        case crabbitmq_basic_return:
            let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let reason = "\(returned.reply_code) \(string(returned.reply_text)) (exchange '\(string(returned.exchange))', key '\(string(returned.routing_key))')"
            var message = amqp_message_t()
            try AMQPError.check(amqp_read_message(state, channel, &message, 0), "reading a returned message")
            defer { amqp_destroy_message(&message) }
            return .returned(messageID: MessageProperties(message.properties).messageID, exchange: string(returned.exchange),
                             routingKey: string(returned.routing_key), reason: reason)
        case crabbitmq_basic_cancel:
            let cancel = method.decoded.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            return .consumerCancelled(string(cancel.consumer_tag))
        case crabbitmq_connection_blocked:
            let blocked = method.decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            return .blocked(string(blocked.reason))
        case crabbitmq_connection_unblocked:
            return .unblocked
        case crabbitmq_channel_close, crabbitmq_connection_close:
            let (code, text) = AMQPError.serverClose(method)
            crabbitmq_send_close_ok(state, channel, method.id == crabbitmq_connection_close ? 1 : 0)
            isOpen = false
            throw AMQPError(.brokerClosed, "the broker closed \(method.id == crabbitmq_connection_close ? "the connection" : "channel \(channel)"): \(code) \(text)",
                            status: Int32(code))
        default:
            return nil
        }
    }
}

/// Calls `body` with an `amqp_bytes_t` over a NUL-terminated C string, or nil.
private func withBytes<T>(_ cString: [CChar]?, _ body: (amqp_bytes_t?) -> T) -> T {
    guard let cString else { return body(nil) }
    return cString.withUnsafeBufferPointer { pointer in
        body(amqp_bytes_t(len: pointer.count - 1, bytes: UnsafeMutableRawPointer(mutating: pointer.baseAddress)))
    }
}

/// C copies of Swift strings that stay valid for as long as the holder lives.
///
/// `amqp_cstring_bytes(swiftString)` would point into a temporary buffer that is freed as soon
/// as that call returns, so every string handed to rabbitmq-c goes through here.
final class CStrings {
    private var pointers: [UnsafeMutablePointer<CChar>] = []

    deinit { pointers.forEach { free($0) } }

    func bytes(_ text: String) -> amqp_bytes_t {
        let pointer = strdup(text)!
        pointers.append(pointer)
        return amqp_bytes_t(len: strlen(pointer), bytes: pointer)
    }
}
