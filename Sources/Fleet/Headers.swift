/// The AMQP header names Gradeline sets, and the log metadata keys, in one place.
public enum Headers {
    /// Which try this is, from 1.
    public static let attempt = "x-gradeline-attempt"
    public static let jobID = "x-gradeline-job-id"
    public static let worker = "x-gradeline-worker"
    public static let errorStage = "x-gradeline-error-stage"
    public static let errorCode = "x-gradeline-error-code"
    public static let errorMessage = "x-gradeline-error-message"
    public static let errorRetriable = "x-gradeline-error-retriable"
    /// The trace of the failed run, as JSON (cut to `traceLimit` bytes).
    public static let trace = "x-gradeline-trace"
    /// How many times this job crashed a worker process (the supervisor counts them here).
    public static let crashes = "x-gradeline-crashes"
    /// How many of the original headers a dead letter or retry had to leave out to fit a frame.
    public static let droppedHeaders = "x-gradeline-dropped-headers"
    /// W3C trace context (https://www.w3.org/TR/trace-context/): the kiosk's, carried onto the
    /// result, retries and dead letters; the worker makes one for a job that has none.
    public static let traceparent = "traceparent"
    /// Set by quorum queues on redelivery.
    public static let deliveryCount = "x-delivery-count"

    /// Headers travel in one frame; the trace is cut to stay well inside it.
    static let traceLimit = 32 * 1024
}

/// Metadata keys for logs.
public enum LogKey {
    public static let jobID = "job.id"
    public static let attempt = "job.attempt"
    public static let status = "job.status"
    public static let stage = "job.stage"
    public static let queue = "amqp.queue"
    public static let traceparent = "traceparent"
    public static let error = "error"
}
