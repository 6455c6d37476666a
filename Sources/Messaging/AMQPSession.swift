/// What a client's setup closure may do on a fresh connection: declare, bind and consume.
///
/// - Important: Valid only inside the setup closure, on the client's owner thread.
public final class AMQPSession {
    let connection: AMQPConnection
    let channel: UInt16
    let consumingAllowed: Bool
    private(set) var consumerTags: [String] = []

    init(connection: AMQPConnection, channel: UInt16, consumingAllowed: Bool) {
        self.connection = connection
        self.channel = channel
        self.consumingAllowed = consumingAllowed
    }

    public func declareExchange(_ name: String, type: String) throws(AMQPError) {
        try connection.declareExchange(name, type: type, channel: channel)
    }

    /// Checks that an exchange exists, without declaring it (no configure permission needed).
    public func checkExchange(_ name: String) throws(AMQPError) {
        try connection.checkExchange(name, channel: channel)
    }

    /// Declares a queue and returns its name (the broker's, when `name` is empty).
    @discardableResult
    public func declareQueue(_ name: String, durable: Bool = true, exclusive: Bool = false,
                             autoDelete: Bool = false, arguments: [String: AMQPValue] = [:]) throws(AMQPError) -> String {
        try connection.declareQueue(name, durable: durable, exclusive: exclusive, autoDelete: autoDelete,
                                    arguments: arguments, channel: channel)
    }

    public func bind(queue: String, exchange: String, routingKey: String) throws(AMQPError) {
        try connection.bindQueue(queue, exchange: exchange, routingKey: routingKey, channel: channel)
    }

    /// Starts consuming `queue` with manual acks and at most `prefetch` unacked deliveries.
    /// Does nothing once the client's consumers were cancelled (during shutdown).
    public func consume(queue: String, prefetch: Int) throws(AMQPError) {
        guard consumingAllowed else { return }
        try connection.qos(prefetch: prefetch, channel: channel)
        consumerTags.append(try connection.consume(queue, channel: channel))
    }

    /// Messages ready in `queue`.
    public func messageCount(queue: String) throws(AMQPError) -> Int {
        try connection.messageCount(queue, channel: channel)
    }

    public func purge(queue: String) throws(AMQPError) {
        try connection.purgeQueue(queue, channel: channel)
    }
}
