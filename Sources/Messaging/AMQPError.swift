import CRabbitMQ

/// An error from the broker or from rabbitmq-c.
public struct AMQPError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The URL cannot be parsed.
        public static let badURL = Code("amqp.bad_url")
        /// The TCP or TLS connection could not be made or was lost.
        public static let connection = Code("amqp.connection")
        /// The broker refused the login.
        public static let authentication = Code("amqp.authentication")
        /// The broker closed a channel or the connection (with its reply code and text).
        public static let brokerClosed = Code("amqp.broker_closed")
        /// The broker did not take a published message (a nack, or unroutable with mandatory).
        public static let notConfirmed = Code("amqp.not_confirmed")
        /// The client is shutting down.
        public static let shutdown = Code("amqp.shutdown")
        /// The message cannot be encoded (a short string over 255 bytes, headers over a frame);
        /// an error of that message alone, never of the connection.
        public static let unencodable = Code("amqp.unencodable")
        /// rabbitmq-c reported an error of its own.
        public static let library = Code("amqp.library")
    }

    public var code: Code
    public var reason: String
    /// The rabbitmq-c status, or the broker's AMQP reply code, when there is one.
    public var status: Int32
    /// True when trying again later can succeed (the broker may come back).
    public var isRetriable: Bool

    public init(_ code: Code, _ reason: String, status: Int32 = 0, retriable: Bool = true) {
        self.code = code
        self.reason = reason
        self.status = status
        self.isRetriable = retriable
    }

    public var description: String { reason }

    /// The error for a rabbitmq-c status code, with what was being done.
    static func library(_ status: Int32, _ context: String) -> AMQPError {
        let text = String(cString: amqp_error_string2(status))
        return AMQPError(.library, "\(context): \(text)", status: status)
    }

    /// Translates an RPC reply; the one place that reads `amqp_rpc_reply_t`.
    static func check(_ reply: amqp_rpc_reply_t, _ context: String) throws(AMQPError) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw library(reply.library_error, context)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            let (code, text) = serverClose(reply.reply)
            let retriable = ![403, 404, 406].contains(code)  // access refused, not found, precondition failed
            throw AMQPError(.brokerClosed, "\(context): the broker replied \(code) \(text)",
                            status: Int32(code), retriable: retriable)
        default:
            throw AMQPError(.library, "\(context): no reply from the broker")
        }
    }

    /// The reply code and text of a connection.close or channel.close method.
    static func serverClose(_ method: amqp_method_t) -> (Int, String) {
        if method.id == crabbitmq_connection_close, let decoded = method.decoded {
            let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            return (Int(close.reply_code), string(close.reply_text))
        }
        if method.id == crabbitmq_channel_close, let decoded = method.decoded {
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            return (Int(close.reply_code), string(close.reply_text))
        }
        return (0, "method 0x\(String(method.id, radix: 16))")
    }
}

/// The bytes of an `amqp_bytes_t` as a String.
func string(_ bytes: amqp_bytes_t) -> String {
    guard bytes.len > 0, let pointer = bytes.bytes else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: bytes.len), as: UTF8.self)
}

/// The bytes of an `amqp_bytes_t` as an array.
func array(_ bytes: amqp_bytes_t) -> [UInt8] {
    guard bytes.len > 0, let pointer = bytes.bytes else { return [] }
    return [UInt8](UnsafeRawBufferPointer(start: pointer, count: bytes.len))
}
