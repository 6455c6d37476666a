import CRabbitMQ

/// The AMQP properties Gradeline reads and writes.
public struct MessageProperties: Sendable, Hashable {
    public var contentType: String?
    public var messageID: String?
    public var correlationID: String?
    /// Persistent messages survive a broker restart.
    public var persistent: Bool = true
    /// Per-message TTL in milliseconds.
    public var expirationMs: Int?
    public var headers: [String: AMQPValue] = [:]

    public init(contentType: String? = nil, messageID: String? = nil, correlationID: String? = nil,
                persistent: Bool = true, expirationMs: Int? = nil, headers: [String: AMQPValue] = [:]) {
        self.contentType = contentType
        self.messageID = messageID
        self.correlationID = correlationID
        self.persistent = persistent
        self.expirationMs = expirationMs
        self.headers = headers
    }

    init(_ raw: amqp_basic_properties_t) {
        let flags = raw._flags
        func has(_ flag: UInt32) -> Bool { flags & flag != 0 }
        contentType = has(UInt32(AMQP_BASIC_CONTENT_TYPE_FLAG)) ? string(raw.content_type) : nil
        messageID = has(UInt32(AMQP_BASIC_MESSAGE_ID_FLAG)) ? string(raw.message_id) : nil
        correlationID = has(UInt32(AMQP_BASIC_CORRELATION_ID_FLAG)) ? string(raw.correlation_id) : nil
        persistent = has(UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)) && raw.delivery_mode == 2
        expirationMs = has(UInt32(AMQP_BASIC_EXPIRATION_FLAG)) ? Int(string(raw.expiration)) : nil
        headers = has(UInt32(AMQP_BASIC_HEADERS_FLAG)) ? AMQPTable.read(raw.headers) : [:]
    }
}

/// A message to publish.
public struct OutgoingMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    public var properties: MessageProperties
    /// Ask the broker to return the message if no queue is bound for it.
    public var mandatory: Bool

    public init(exchange: String, routingKey: String, body: [UInt8],
                properties: MessageProperties = MessageProperties(), mandatory: Bool = true) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.properties = properties
        self.mandatory = mandatory
    }
}

extension OutgoingMessage {
    /// The largest AMQP short string, which names, ids and property values must fit.
    public static let shortStringLimit = 255

    /// Checks that the message can be encoded on a connection whose frames are at most
    /// `frameMax` bytes: every short string within 255 UTF-8 bytes, and the properties
    /// (headers included) within one content-header frame.
    ///
    /// A message that fails this is that message's own permanent error: it is refused before
    /// it reaches the connection, so it can never break the connection for the others.
    public func validate(frameMax: Int) throws(AMQPError) {
        func short(_ value: String?, _ what: String) throws(AMQPError) {
            guard let value, value.utf8.count > Self.shortStringLimit else { return }
            throw AMQPError(.unencodable, "\(what) has \(value.utf8.count) UTF-8 bytes; AMQP allows at most \(Self.shortStringLimit)",
                            retriable: false)
        }
        try short(exchange, "the exchange name")
        try short(routingKey, "the routing key")
        try short(properties.contentType, "the content_type property")
        try short(properties.messageID, "the message_id property")
        try short(properties.correlationID, "the correlation_id property")
        for key in properties.headers.keys { try short(key, "the header name '\(key.prefix(40))…'") }
        // Class, weight, body size and flags, then each short string with its length octet,
        // then the headers table; the frame adds 7 bytes of header and 1 of end marker.
        var size = 8 + 14 + 3  // frame, fixed fields, delivery mode with slack
        for value in [properties.contentType, properties.messageID, properties.correlationID] {
            size += 1 + (value?.utf8.count ?? 0)
        }
        size += 1 + 20  // expiration
        let headerBytes = properties.headers.isEmpty ? 0 : AMQPValue.tableSize(properties.headers)
        size += headerBytes
        guard size <= frameMax else {
            throw AMQPError(.unencodable, "the message's properties take \(size) bytes (headers \(headerBytes)); one frame holds \(frameMax)",
                            retriable: false)
        }
    }
}

/// A message the broker delivered to a consumer.
public struct Delivery: Sendable {
    public var body: [UInt8]
    public var properties: MessageProperties
    public var exchange: String
    public var routingKey: String
    public var redelivered: Bool
    public var consumerTag: String
    /// The broker's tag for acks, valid only on the connection that received it.
    public var deliveryTag: UInt64
    /// Which connection received it: acks for an older connection are dropped, since the
    /// broker has already put the message back.
    public var connectionGeneration: Int

    public init(body: [UInt8], properties: MessageProperties, exchange: String = "", routingKey: String = "",
                redelivered: Bool = false, consumerTag: String = "", deliveryTag: UInt64 = 0,
                connectionGeneration: Int = 0) {
        self.body = body
        self.properties = properties
        self.exchange = exchange
        self.routingKey = routingKey
        self.redelivered = redelivered
        self.consumerTag = consumerTag
        self.deliveryTag = deliveryTag
        self.connectionGeneration = connectionGeneration
    }
}

/// How the broker answered a publish.
public enum PublishOutcome: Sendable, Hashable {
    /// The broker took responsibility for the message.
    case confirmed
    /// No queue was bound for it (with `mandatory`); the reply text says why.
    case returned(String)
}
