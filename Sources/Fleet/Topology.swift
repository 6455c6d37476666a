import Messaging

/// The exchanges and queues of the fleet, declared idempotently by every client at connect.
///
/// ```
/// kiosk -> exchange grading.jobs (topic, key job.<kiosk>) -> queue grading.jobs (quorum)
///   retry: default exchange -> queue grading.retry.<delay>ms (TTL) -> dead-lettered back to grading.jobs
///   dead:  exchange grading.dead (topic) -> queue grading.dead
/// results: exchange grading.results (topic, key result.<status>)
/// ```
/// `deploy/rabbitmq/definitions.json` declares the same, for brokers set up ahead of time.
public struct Topology: Sendable, Hashable {
    public var jobsExchange = "grading.jobs"
    public var jobsQueue = "grading.jobs"
    /// The routing-key pattern that binds the work queue to the jobs exchange.
    public var jobsBinding = "job.#"
    public var resultsExchange = "grading.results"
    public var deadExchange = "grading.dead"
    public var deadQueue = "grading.dead"
    /// Retry queues are named `<prefix>.<delay>ms`.
    public var retryQueuePrefix = "grading.retry"
    /// How many times the broker delivers one message before dead-lettering it, so that a
    /// message that crashes workers cannot loop forever.
    public var deliveryLimit = 5

    public init() {}

    /// The retry queue for one rung of the ladder.
    public func retryQueue(delayMs: Int) -> String { "\(retryQueuePrefix).\(delayMs)ms" }

    /// The routing key a kiosk publishes a job with.
    public static func jobRoutingKey(kioskID: String) -> String {
        "job." + kioskID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
    }

    /// Declares everything; safe to repeat, and it fails clearly when the broker has a queue
    /// of the same name with other arguments.
    public func declare(on session: AMQPSession, retryDelaysMs: [Int]) throws(AMQPError) {
        try session.declareExchange(jobsExchange, type: "topic")
        try session.declareExchange(resultsExchange, type: "topic")
        try session.declareExchange(deadExchange, type: "topic")
        try session.declareQueue(jobsQueue, arguments: [
            "x-queue-type": .string("quorum"),
            "x-delivery-limit": .int(Int64(deliveryLimit)),
            "x-dead-letter-exchange": .string(deadExchange),
            "x-dead-letter-routing-key": .string("dead.delivery_limit"),
        ])
        try session.bind(queue: jobsQueue, exchange: jobsExchange, routingKey: jobsBinding)
        try session.declareQueue(deadQueue)
        try session.bind(queue: deadQueue, exchange: deadExchange, routingKey: "#")
        for delay in retryDelaysMs {
            try session.declareQueue(retryQueue(delayMs: delay), arguments: [
                "x-message-ttl": .int(Int64(delay)),
                "x-dead-letter-exchange": .string(""),
                "x-dead-letter-routing-key": .string(jobsQueue),
            ])
        }
    }
}
