import Foundation
import Logging
import Messaging
import Testing

@Suite("A client whose broker is away keeps trying and says why")
struct ReconnectTests {
    @Test("waiting for a broker that is down fails with the connect error, after retries")
    func brokerDownAtStart() async throws {
        var configuration = AMQPClient.Configuration(url: try AMQPURL("amqp://guest:guest@127.0.0.1:1/"), name: "down")
        configuration.reconnectInitialDelay = 0.05
        var logger = Logger(label: "reconnect-test")
        logger.logLevel = .critical
        let client = AMQPClient(configuration: configuration, logger: logger) { _ throws(AMQPError) in }
        do {
            try await client.waitUntilConnected(timeout: .milliseconds(600))
            Issue.record("connected to a port where no broker listens")
        } catch let error as AMQPError {
            #expect(error.code == .connection)
            #expect(error.reason.contains("connecting to 127.0.0.1:1"), "\(error.reason)")
        }
        await client.shutdown(deadline: .milliseconds(100))
    }

    @Test("a publish while the broker is away is refused once the client shuts down, never lost silently")
    func publishWhileDown() async throws {
        var logger = Logger(label: "reconnect-test")
        logger.logLevel = .critical
        let client = AMQPClient(configuration: .init(url: try AMQPURL("amqp://127.0.0.1:1"), name: "down"),
                                logger: logger) { _ throws(AMQPError) in }
        let publishing = Task { try await client.publish(OutgoingMessage(exchange: "x", routingKey: "y", body: [1])) }
        try await Task.sleep(for: .milliseconds(100))
        await client.shutdown(deadline: .milliseconds(100))
        await #expect(throws: AMQPError.self) { try await publishing.value }
    }

    @Test("URLs parse as rabbitmq-c reads them, an empty vhost means '/', and a bad URL is named without its password")
    func urls() throws {
        let url = try AMQPURL("amqps://kiosk:secret@broker.example:5671/grading")
        #expect(url.tls && url.host == "broker.example" && url.port == 5671 && url.vhost == "grading")
        #expect(url.description == "amqps://kiosk@broker.example:5671/grading")
        #expect(try AMQPURL("amqp://localhost:5672/").vhost == "/")
        #expect(throws: AMQPError.self) { try AMQPURL("http://user:secret@host/") }
        do {
            _ = try AMQPURL("http://user:secret@host/")
        } catch {
            #expect(!error.reason.contains("secret"))
        }
    }
}
