import Core
import Foundation
import Logging
import Messaging

/// Clients for the producer side: publish jobs, and listen to results on a private queue.
public enum FleetClients {
    /// A publisher with confirms that declares the topology on connect.
    public static func publisher(url: AMQPURL, name: String, settings: WorkerConfiguration,
                                 logger: Logger) -> AMQPClient {
        let topology = settings.topology, delays = settings.retry.delaysMs
        var configuration = AMQPClient.Configuration(url: url, name: name)
        configuration.alternates = settings.alternates(besides: url)
        return AMQPClient(configuration: configuration, logger: logger) { session throws(AMQPError) in
            try topology.declare(on: session, retryDelaysMs: delays)
        }
    }

    /// A client whose deliveries are every result published from now on, from a private
    /// queue bound to the results exchange. It must be connected before jobs are published.
    public static func resultListener(url: AMQPURL, name: String, settings: WorkerConfiguration,
                                      logger: Logger) -> AMQPClient {
        let topology = settings.topology, delays = settings.retry.delaysMs
        var configuration = AMQPClient.Configuration(url: url, name: name)
        configuration.alternates = settings.alternates(besides: url)
        configuration.confirms = false
        return AMQPClient(configuration: configuration, logger: logger) { session throws(AMQPError) in
            try topology.declare(on: session, retryDelaysMs: delays)
            let queue = try session.declareQueue("", durable: false, exclusive: true, autoDelete: true)
            try session.bind(queue: queue, exchange: topology.resultsExchange, routingKey: "result.*")
            try session.consume(queue: queue, prefetch: 256)
        }
    }

    /// The message that carries `job` to the jobs exchange.
    public static func jobMessage(_ job: Job, topology: Topology) throws -> OutgoingMessage {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return OutgoingMessage(
            exchange: topology.jobsExchange, routingKey: Topology.jobRoutingKey(kioskID: job.kioskID),
            body: Array(try encoder.encode(job)),
            properties: MessageProperties(contentType: "application/json", messageID: job.jobID))
    }

    /// Groups photo files named `<phone>-<side>.png` (or `.jpg`, `.jpeg`) into one job per phone;
    /// each photo's content type comes from its first bytes (`Job.contentType(of:path:)`).
    public static func jobs(fromFiles paths: [String], kioskID: String, prefix: String = "") throws -> [Job] {
        var phones: [(String, [(side: Side, path: String)])] = []
        for path in paths {
            let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            var phone = name, side = Side.front
            if let dash = name.lastIndex(of: "-"), let named = Side(rawValue: String(name[name.index(after: dash)...])) {
                phone = String(name[..<dash])
                side = named
            }
            if let index = phones.firstIndex(where: { $0.0 == phone }) {
                phones[index].1.append((side, path))
            } else {
                phones.append((phone, [(side, path)]))
            }
        }
        return try phones.map { phone, files in
            try Job.fromFiles(files.sorted { $0.side < $1.side }, jobID: prefix + phone, kioskID: kioskID)
        }
    }
}
