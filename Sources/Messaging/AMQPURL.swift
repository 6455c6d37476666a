import CRabbitMQ
import Foundation

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

    /// Comma-separated URLs, the nodes of one cluster in the order to try them
    /// (`amqp://u:p@node1:5672/,amqp://u:p@node2:5672/`); at least one.
    public static func list(_ text: String) throws(AMQPError) -> [AMQPURL] {
        var urls: [AMQPURL] = []
        for part in text.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { urls.append(try AMQPURL(trimmed)) }
        }
        guard !urls.isEmpty else {
            throw AMQPError(.badURL, "no AMQP URL given; expected amqp://user:password@host:5672/vhost", retriable: false)
        }
        return urls
    }

    /// The URL without its password, for logs.
    public var description: String {
        "\(tls ? "amqps" : "amqp")://\(user)@\(host):\(port)/\(vhost == "/" ? "" : vhost)"
    }

    /// `text` fit to quote in an error: the user and password masked (with or without a
    /// scheme, and a `host:password` that has no `@` too), and cut to 200 bytes.
    public static func redacted(_ text: String) -> String {
        let afterScheme = text.range(of: "://")?.upperBound ?? text.startIndex
        var masked = text
        if let at = text[afterScheme...].lastIndex(of: "@") {
            masked = String(text[..<afterScheme]) + "***" + String(text[at...])
        } else {
            // No user part; but something after a colon that is not a port may be a password.
            let authorityEnd = text[afterScheme...].firstIndex(of: "/") ?? text.endIndex
            if let colon = text[afterScheme..<authorityEnd].firstIndex(of: ":"),
               !text[text.index(after: colon)..<authorityEnd].allSatisfy(\.isNumber) {
                masked = String(text[...colon]) + "***" + String(text[authorityEnd...])
            }
        }
        guard masked.utf8.count > 200 else { return masked }
        var cut = String.UnicodeScalarView()
        var bytes = 0
        for scalar in masked.unicodeScalars {
            bytes += UTF8.width(scalar)
            guard bytes <= 200 else { break }
            cut.append(scalar)
        }
        return String(cut) + "…"
    }
}
