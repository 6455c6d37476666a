import CRabbitMQ

/// A parsed `amqp://` or `amqps://` URL: `amqp[s]://user:password@host:port/vhost`.
public struct AMQPURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var vhost: String
    public var tls: Bool

    /// Parses with rabbitmq-c's own parser, so that escapes and defaults match the library.
    public init(_ text: String) throws(AMQPError) {
        var buffer = Array(text.utf8CString)
        var info = amqp_connection_info()
        let status = buffer.withUnsafeMutableBufferPointer { pointer in
            amqp_default_connection_info(&info)
            return amqp_parse_url(pointer.baseAddress, &info)
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.badURL, "'\(Self.redacted(text))' is not an AMQP URL like amqp://user:password@host:5672/vhost",
                            retriable: false)
        }
        host = String(cString: info.host)
        port = Int(info.port)
        user = String(cString: info.user)
        password = String(cString: info.password)
        // "amqp://host:5672/" parses to an empty vhost, which RabbitMQ refuses; it means "/".
        let parsedVhost = String(cString: info.vhost)
        vhost = parsedVhost.isEmpty ? "/" : parsedVhost
        tls = info.ssl != 0
    }

    /// The URL without its password, for logs.
    public var description: String {
        "\(tls ? "amqps" : "amqp")://\(user)@\(host):\(port)/\(vhost == "/" ? "" : vhost)"
    }

    private static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://") else { return text }
        return String(text[..<scheme.upperBound]) + "***" + String(text[at...])
    }
}
