import Foundation

/// `inject_fault`: fails, sleeps or crashes on purpose, for fault-injection tests of the fleet.
///
/// It acts only on jobs whose device info has `inject_fault`, and only in configs that list
/// it; the shipped config does not. Values:
/// - `retriable`: a passing failure, which the worker retries;
/// - `retriable_until:N`: a passing failure on attempts before N, then success;
/// - `fatal`: a lasting failure, which goes straight to the dead-letter queue;
/// - `sleep:MS`: a slow job, for shutdown and crash tests;
/// - `crash`: kills the process, for the crash-isolation tests;
/// - `alloc:MB`: takes and touches MB mebibytes for two seconds, for the memory-limit test.
public struct InjectFault: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "inject_fault", module: .processor,
        summary: "Fails, sleeps or crashes when the job's device.inject_fault asks (tests only).")

    public init(configuring step: inout StepBuilder) {}

    public func run(_ request: inout Request) throws -> StepStatus {
        guard case .string(let fault)? = request.device["inject_fault"] else { return .ok }
        let parts = fault.split(separator: ":", maxSplits: 1).map(String.init)
        // An empty value has no parts: it falls to the unknown-fault error, never to parts[0].
        switch (parts.first ?? "", parts.count > 1 ? Int(parts[1]) : nil) {
        case ("retriable", _):
            throw PipelineError(.resourceExhausted, "injected passing failure", retriable: true)
        case ("retriable_until", let until?):
            if request.attempt < until {
                throw PipelineError(.resourceExhausted, "injected passing failure on attempt \(request.attempt)",
                                    retriable: true)
            }
        case ("fatal", _):
            throw PipelineError(.invalidInput, "injected lasting failure")
        case ("sleep", let milliseconds?):
            Thread.sleep(forTimeInterval: Double(milliseconds) / 1000)
        case ("crash", _):
            fatalError("inject_fault: crash requested by job \(request.jobID)")
        case ("alloc", let mebibytes?) where (1...65_536).contains(mebibytes):
            let held = [UInt8](repeating: 1, count: mebibytes << 20)
            Thread.sleep(forTimeInterval: 2)
            withExtendedLifetime(held) {}
        default:
            throw PipelineError(.invalidInput, "inject_fault: unknown fault '\(Echo.clip(fault))'; use retriable, "
                                + "retriable_until:N, fatal, sleep:MS, crash or alloc:MB")
        }
        return .ok
    }
}
