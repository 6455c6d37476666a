import Messaging

/// The exchanges and queues of the fleet, declared idempotently by every client at connect.
///
/// ```
/// kiosk -> exchange grading.jobs (topic, key job.<kiosk>) -> queue grading.jobs (quorum)
///   retry: default exchange -> queue grading.retry.<delay>ms (TTL) -> dead-lettered back to grading.jobs
///   dead:  exchange grading.dead (topic) -> queue grading.dead
///          and, for what the work queue dead-letters itself (key dead.delivery_limit),
///          queue grading.dead.watch, which workers answer with a failed result
/// results: exchange grading.results (topic, key result.<status>)
/// ```
/// `deploy/rabbitmq/definitions.json` declares the same, for brokers set up ahead of time.
/// There, clients may run with `declares` false (`topology.declare: false`): they then only
/// check that each exchange and queue exists, which a user without configure permission (a
/// kiosk) may do.
public struct Topology: Sendable, Hashable {
    public var jobsExchange = "grading.jobs"
    public var jobsQueue = "grading.jobs"
    /// The routing-key pattern that binds the work queue to the jobs exchange.
    public var jobsBinding = "job.#"
    public var resultsExchange = "grading.results"
    public var deadExchange = "grading.dead"
    public var deadQueue = "grading.dead"
    /// What the work queue dead-letters by itself (the delivery limit) also lands here, for
    /// the workers to answer `failed`; named `<deadQueue>.watch`.
    public var deadWatchQueue: String { "\(deadQueue).watch" }
    /// Retry queues are named `<prefix>.<delay>ms`.
    public var retryQueuePrefix = "grading.retry"
    /// How many times the broker delivers one message before dead-lettering it, so that a
    /// message that crashes workers cannot loop forever.
    public var deliveryLimit = 5
    /// Whether clients declare the topology at connect (true), or only check that it exists.
    public var declares = true

    public init() {}

    /// The retry queue for one rung of the ladder.
    public func retryQueue(delayMs: Int) -> String { "\(retryQueuePrefix).\(delayMs)ms" }

    /// The routing key a kiosk publishes a job with.
    public static func jobRoutingKey(kioskID: String) -> String {
        "job." + kioskID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
    }

    /// One thing the fleet needs on the broker.
    public enum Declaration: Sendable, Hashable {
        case exchange(name: String, type: String)
        case queue(name: String, arguments: [String: AMQPValue])
        case binding(queue: String, exchange: String, routingKey: String)
    }

    /// Everything to declare, in order: exchanges, then queues, then bindings.
    public func declarations(retryDelaysMs: [Int]) -> [Declaration] {
        var all: [Declaration] = [
            .exchange(name: jobsExchange, type: "topic"),
            .exchange(name: resultsExchange, type: "topic"),
            .exchange(name: deadExchange, type: "topic"),
            .queue(name: jobsQueue, arguments: [
                "x-queue-type": .string("quorum"),
                "x-delivery-limit": .int(Int64(deliveryLimit)),
                "x-dead-letter-exchange": .string(deadExchange),
                "x-dead-letter-routing-key": .string("dead.delivery_limit"),
            ]),
            .queue(name: deadQueue, arguments: [:]),
            .queue(name: deadWatchQueue, arguments: [:]),
        ]
        for delay in retryDelaysMs {
            all.append(.queue(name: retryQueue(delayMs: delay), arguments: [
                "x-message-ttl": .int(Int64(delay)),
                "x-dead-letter-exchange": .string(""),
                "x-dead-letter-routing-key": .string(jobsQueue),
            ]))
        }
        all.append(.binding(queue: jobsQueue, exchange: jobsExchange, routingKey: jobsBinding))
        all.append(.binding(queue: deadQueue, exchange: deadExchange, routingKey: "#"))
        all.append(.binding(queue: deadWatchQueue, exchange: deadExchange, routingKey: "dead.delivery_limit"))
        return all
    }

    /// Declares everything; safe to repeat, and it fails clearly when the broker has a queue
    /// of the same name with other arguments. With `declares` false it only checks that every
    /// exchange and queue exists (passive declares; bindings cannot be checked).
    public func declare(on session: AMQPSession, retryDelaysMs: [Int]) throws(AMQPError) {
        for declaration in declarations(retryDelaysMs: retryDelaysMs) {
            if !declares {
                switch declaration {
                case .exchange(let name, _): try session.checkExchange(name)
                case .queue(let name, _): _ = try session.messageCount(queue: name)
                case .binding: break
                }
                continue
            }
            switch declaration {
            case .exchange(let name, let type): try session.declareExchange(name, type: type)
            case .queue(let name, let arguments): try session.declareQueue(name, arguments: arguments)
            case .binding(let queue, let exchange, let key): try session.bind(queue: queue, exchange: exchange, routingKey: key)
            }
        }
    }
}
