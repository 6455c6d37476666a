import Foundation
import Logging
import Messaging
import Synchronization
import Testing

extension BrokerSuites {
/// amqps:// through rabbitmq-c's TLS socket, against the test broker's TLS listener, whose
/// certificate a private CA signed (scripts/rabbitmq.sh makes both).
@Suite("TLS connections")
struct TLSTests {
    static func url() throws -> AMQPURL {
        guard let text = ProcessInfo.processInfo.environment["GRADELINE_TEST_AMQPS_URL"] else {
            throw HarnessError("GRADELINE_TEST_AMQPS_URL is not set: scripts/test.sh starts the broker with a TLS listener")
        }
        return try AMQPURL(text)
    }

    static var logger: Logger {
        var logger = Logger(label: "tls-test")
        logger.logLevel = .critical
        return logger
    }

    @Test("a message goes out and comes back over amqps:// when the broker's CA is trusted")
    func roundTrip() async throws {
        var configuration = AMQPClient.Configuration(url: try Self.url(), name: "tls")
        configuration.caCertificateFile = ProcessInfo.processInfo.environment["GRADELINE_AMQP_CACERT"]
        #expect(configuration.caCertificateFile != nil, "GRADELINE_AMQP_CACERT is not set")
        let queue = Mutex("")
        let client = AMQPClient(configuration: configuration, logger: Self.logger) { session throws(AMQPError) in
            let name = try session.declareQueue("", durable: false, exclusive: true, autoDelete: true)
            queue.withLock { $0 = name }
            try session.consume(queue: name, prefetch: 1)
        }
        try await client.waitUntilConnected(timeout: .seconds(20))
        let outcome = try await client.publish(OutgoingMessage(exchange: "", routingKey: queue.withLock { $0 },
                                                               body: Array("over TLS".utf8)))
        #expect(outcome == .confirmed)
        var iterator = client.deliveries.makeAsyncIterator()
        let delivery = try #require(await iterator.next())
        #expect(delivery.body == Array("over TLS".utf8))
        client.ack(delivery)
        await client.shutdown()
    }

    @Test("a broker certificate from an untrusted CA is refused, with a clear error")
    func untrustedCertificate() async throws {
        var configuration = AMQPClient.Configuration(url: try Self.url(), name: "tls-untrusted")
        configuration.caCertificateFile = nil
        configuration.reconnectInitialDelay = 0.05
        let client = AMQPClient(configuration: configuration, logger: Self.logger) { _ throws(AMQPError) in }
        do {
            try await client.waitUntilConnected(timeout: .seconds(2))
            Issue.record("connected although the broker's CA is not trusted")
        } catch let error as AMQPError {
            #expect(error.code == .connection)
            #expect(error.reason.contains("connecting to localhost"), "\(error.reason)")
        }
        await client.shutdown(deadline: .milliseconds(100))
    }

    @Test("with no CA file configured, the system bundle is trusted: a CA placed there is enough")
    func systemBundleIsTrusted() async throws {
        let ca = try #require(ProcessInfo.processInfo.environment["GRADELINE_AMQP_CACERT"], "GRADELINE_AMQP_CACERT is not set")
        var configuration = AMQPClient.Configuration(url: try Self.url(), name: "tls-system")
        configuration.caCertificateFile = nil
        configuration.systemCAFile = ca  // stands in for /etc/ssl/certs/ca-certificates.crt
        let client = AMQPClient(configuration: configuration, logger: Self.logger) { _ throws(AMQPError) in }
        try await client.waitUntilConnected(timeout: .seconds(20))
        await client.shutdown()
    }
}
}
