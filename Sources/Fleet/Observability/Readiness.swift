import Synchronization

/// Whether a worker should get traffic: `/health/ready` answers 200 only when the canaries
/// passed (or none are configured), the pipeline processes loaded their models, the consumer
/// is connected and consuming, and the worker is not draining; else 503 with the first reason.
public final class Readiness: Sendable {
    private struct State {
        var canaries = false
        var models = false
        var draining = false
        var consumer: (@Sendable () -> Bool)?
    }
    private let state = Mutex(State())

    public init() {}

    public func canariesPassed() { state.withLock { $0.canaries = true } }
    public func modelsLoaded() { state.withLock { $0.models = true } }
    public func draining() { state.withLock { $0.draining = true } }
    /// `active` tells whether the consumer is connected and consuming now.
    public func consumer(_ active: @escaping @Sendable () -> Bool) { state.withLock { $0.consumer = active } }

    /// nil when ready; else why not, in one line.
    public var notReadyReason: String? {
        let (canaries, models, draining, consumer) = state.withLock { ($0.canaries, $0.models, $0.draining, $0.consumer) }
        if draining { return "draining: shutting down, finishing the jobs in flight" }
        if !canaries { return "starting: the canary jobs have not passed yet" }
        if !models { return "starting: the pipeline processes are loading the models" }
        guard let consumer else { return "starting: not connected to the broker yet" }
        if !consumer() { return "the consumer is not connected to the broker" }
        return nil
    }
}
