import Foundation
import Messaging
import Testing

@Suite("AMQP URLs: errors never show a password, and TLS trusts the system's CAs by default")
struct AMQPURLTests {
    @Test("a bad URL's error masks the password, with or without a scheme", arguments: [
        "guest:s3cret@localhost:5672/", "ftp://guest:s3cret@localhost/",
        "amqp://guest:s3cret@host:notaport/", "localhost:s3cret", "amqp://host:s3cret/vhost",
        "//guest:s3cret@host", "amqp://gu@est:s3cret@host:port",
    ])
    func passwordIsMasked(_ text: String) {
        do {
            _ = try AMQPURL(text)
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.code == .badURL)
            #expect(!error.reason.contains("s3cret"), "\(error.reason)")
            #expect(error.reason.contains("is not an AMQP URL"))
        }
    }

    @Test("a huge bad URL is cut short in the error")
    func hugeURLIsClipped() {
        let text = "amqp://" + String(repeating: "h", count: 100_000) + ":x"
        #expect(AMQPURL.redacted(text).utf8.count < 300)
        #expect(AMQPURL.redacted(text).hasSuffix("…"))
    }

    @Test("a URL's description has no password")
    func descriptionHasNoPassword() throws {
        let url = try AMQPURL("amqps://guest:s3cret@broker.example:5671/prod")
        #expect(url.tls)
        #expect(!url.description.contains("s3cret"))
    }

    @Test("the system CA bundle is SSL_CERT_FILE, else the distribution's bundle")
    func systemCABundle() {
        #expect(AMQPClient.Configuration.systemCABundle(environment: ["SSL_CERT_FILE": "/x/ca.pem"]) == "/x/ca.pem")
        let found = AMQPClient.Configuration.systemCABundle(environment: [:])
        if FileManager.default.fileExists(atPath: "/etc/ssl/certs/ca-certificates.crt") {
            #expect(found == "/etc/ssl/certs/ca-certificates.crt")
        }
        let url = try? AMQPURL("amqps://localhost/")
        #expect(AMQPClient.Configuration(url: url!, name: "t").systemCAFile != nil || found == nil)
    }
}
