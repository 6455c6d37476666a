/// One configured step: a built function and what the trace needs to say about it.
public struct Step: Sendable {
    public let function: any PipelineFunction
    public let descriptor: FunctionDescriptor
    /// The params used, defaults included, plus `in` and `out` names.
    public let params: [String: JSONValue]
    /// The artifact names this step writes.
    public let outputs: [String]
}

/// One named pipeline: functions run in configured order.
public struct Pipeline: Sendable {
    public let name: String
    public let steps: [Step]

    /// Runs every step in order, appending one trace entry per step, and stops at the first
    /// step that rejects the input or fails.
    public func run(_ request: inout Request, level: TraceLevel) -> Outcome {
        let clock = ContinuousClock()
        let pipelineStart = clock.now
        defer {
            request.timings[name, default: 0] += Self.milliseconds(pipelineStart.duration(to: clock.now))
        }
        request.traceLevel = level
        for step in steps {
            let start = clock.now
            var status = StepStatusCode.ok
            var skipped = false
            var outcome = Outcome.graded
            var reasons: [Reason]?
            var failure: Failure?
            do {
                switch try step.function.run(&request) {
                case .ok:
                    if let missing = step.outputs.first(where: { !request.has($0) }) {
                        throw PipelineError(.missingOutput,
                                            "\(step.descriptor.name) did not write its output '\(missing)'")
                    }
                case .rejected(let found):
                    status = .rejected
                    reasons = found
                    outcome = .rejected(found)
                case .skipped:
                    skipped = true
                }
            } catch {
                status = .failed
                failure = Self.failure(error, stage: "\(name)/\(step.descriptor.name)")
                outcome = .failed(failure!)
            }
            let duration = Self.milliseconds(start.duration(to: clock.now))
            request.trace.append(TraceEntry(
                pipeline: name, function: step.descriptor.name, module: step.descriptor.module,
                params: step.params, durationMs: duration, status: status,
                outputs: status == .ok && !skipped ? step.outputs.flatMap { request.summarize($0, level: level) } : [],
                reasons: reasons, error: failure))
            if outcome != .graded { return outcome }
        }
        return .graded
    }

    static func failure(_ error: any Error, stage: String) -> Failure {
        if let error = error as? PipelineError {
            return Failure(stage: stage, code: error.code.rawValue, message: error.description,
                           retriable: error.isRetriable)
        }
        return Failure(stage: stage, code: PipelineError.Code.internalError.rawValue,
                       message: String(describing: error), retriable: false)
    }

    public static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
