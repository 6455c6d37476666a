import Core
import Dispatch
import Foundation
import Logging
import Synchronization

/// A job handed to a child process.
public struct ChildJob: Sendable {
    var header: ChildJobHeader
    var body: [UInt8]
    /// Asked just before a child takes the job: false skips it (`.abandoned`), for a delivery
    /// whose connection was lost while it waited and that the broker will deliver again.
    var stillWanted: @Sendable () -> Bool

    public init(body: [UInt8], messageID: String?, attempt: Int, redelivered: Bool,
                stillWanted: @escaping @Sendable () -> Bool = { true }) {
        header = ChildJobHeader(messageID: messageID, attempt: attempt, redelivered: redelivered)
        self.body = body
        self.stillWanted = stillWanted
    }
}

/// How a child's run of one job ended.
public enum ChildOutcome: Sendable {
    /// The child answered with a result, at `finishedAt` (parsed on the pool's thread, not on
    /// the cooperative pool that hands acks to the connection).
    case result(GradingResult, finishedAt: ContinuousClock.Instant)
    /// The child died, ran past the time limit or grew past the memory limit; it was replaced.
    case died(Failure)
    /// The pool stopped (the shutdown deadline) before the job finished, or the job was no
    /// longer wanted when a child came free.
    case abandoned
}

/// A prefork pool: `size` child processes that run pipelines, each owned by a thread of the
/// pool's own, so that no pipeline and no blocking read runs on Swift's cooperative pool.
///
/// A child that crashes, runs past `timeout` or grows past `maxResidentBytes` costs only the
/// job it was running: the pool reports that job's failure and starts a new child.
public final class ChildPool: Sendable {
    /// How to start a child: this executable with these arguments.
    public struct Launch: Sendable {
        public var executable: String
        public var arguments: [String]

        public init(executable: String, arguments: [String]) {
            self.executable = executable
            self.arguments = arguments
        }
    }

    fileprivate struct Waiter {
        var job: ChildJob
        var continuation: CheckedContinuation<ChildOutcome, Never>
        var onStart: @Sendable () -> Void
    }

    private struct State {
        var free: [Int] = []
        var waiters: [Waiter] = []
        /// No new job starts; running ones go on.
        var draining = false
        var stopped = false
    }

    private let slots: [Slot]
    private let state = Mutex(State())
    let logger: Logger

    public init(size: Int, launch: Launch, timeout: Double, maxResidentBytes: Int, logger: Logger) {
        self.logger = logger
        slots = (0..<size).map { Slot(index: $0, launch: launch, timeout: timeout, maxResidentBytes: maxResidentBytes, logger: logger) }
    }

    /// Starts every child and waits until each has loaded the pipeline; throws the first
    /// child's reason when one cannot start.
    public func start() async throws {
        for slot in slots {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                slot.start(pool: self) { error in
                    if let error { continuation.resume(throwing: error) } else { continuation.resume() }
                }
            }
        }
        state.withLock { $0.free = Array(slots.indices) }
    }

    /// Runs `job` on the next free child, in arrival order; `onStart` is called when a child
    /// takes it. After `drain` or `stop`, a job that has not started ends `.abandoned`.
    public func run(_ job: ChildJob, onStart: @escaping @Sendable () -> Void = {}) async -> ChildOutcome {
        await withCheckedContinuation { continuation in
            let waiter = Waiter(job: job, continuation: continuation, onStart: onStart)
            let slot = state.withLock { state -> Int? in
                guard !state.draining else { return -1 }
                guard !state.free.isEmpty else {
                    state.waiters.append(waiter)
                    return nil
                }
                return state.free.removeFirst()
            }
            if let slot {
                if slot < 0 {
                    continuation.resume(returning: .abandoned)
                } else {
                    slots[slot].assign(waiter)
                }
            }
        }
    }

    /// Starts no new job: those waiting for a child end `.abandoned`; running ones go on.
    public func drain() {
        let waiters = state.withLock { state -> [Waiter] in
            state.draining = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.continuation.resume(returning: .abandoned) }
    }

    /// Kills every child and ends the pool: running and waiting jobs end `.abandoned`.
    public func stop() {
        drain()
        state.withLock { $0.stopped = true }
        slots.forEach { $0.stop() }
    }

    /// Called by a slot that finished a job: hands it the next waiter, or marks it free.
    fileprivate func next(for slot: Int) -> Waiter? {
        let waiter = state.withLock { state -> Waiter? in
            guard !state.stopped else { return nil }
            if state.waiters.isEmpty {
                state.free.append(slot)
                return nil
            }
            return state.waiters.removeFirst()
        }
        return waiter
    }
}

/// One child process and the thread that talks to it.
private final class Slot: @unchecked Sendable {
    // Touched only by the slot's own thread, except `mailbox`, `stopping` and `kill()` on the
    // child (from `stop`, on any thread), which is why the child sits behind a lock.
    private let index: Int
    private let launch: ChildPool.Launch
    private let timeout: Double
    private let maxResidentBytes: Int
    private let logger: Logger
    private let wakeup = DispatchSemaphore(value: 0)
    private let mailbox = Mutex<ChildPool.Waiter?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let current = Mutex<ChildProcess?>(nil)
    private var child: ChildProcess? { current.withLock { $0 } }

    init(index: Int, launch: ChildPool.Launch, timeout: Double, maxResidentBytes: Int, logger: Logger) {
        self.index = index
        self.launch = launch
        self.timeout = timeout
        self.maxResidentBytes = maxResidentBytes
        var logger = logger
        logger[metadataKey: "child.slot"] = "\(index)"
        self.logger = logger
    }

    func start(pool: ChildPool, started: @escaping @Sendable ((any Error)?) -> Void) {
        let thread = Thread { [self] in
            do {
                try spawn()
                started(nil)
            } catch {
                started(error)
                return
            }
            loop(pool: pool)
        }
        thread.name = "gradeline-child-\(index)"
        thread.start()
    }

    func assign(_ waiter: ChildPool.Waiter) {
        mailbox.withLock { $0 = waiter }
        wakeup.signal()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        current.withLock { $0?.kill() }
        wakeup.signal()
    }

    private func loop(pool: ChildPool) {
        while true {
            wakeup.wait()
            var work = mailbox.withLock { box in defer { box = nil }; return box }
            if work == nil, stopping.load(ordering: .relaxed) { return }
            while let waiter = work {
                let outcome = run(waiter)
                waiter.continuation.resume(returning: outcome)
                if stopping.load(ordering: .relaxed) { return }
                if child == nil { try? spawn() }
                work = pool.next(for: index)
            }
        }
    }

    /// Starts a child and waits for its `ready`.
    private func spawn() throws {
        let started = ContinuousClock.now
        let process = try ChildProcess.spawn(executable: launch.executable, arguments: launch.arguments)
        let frame: ChildFrame?
        do {
            frame = try process.channel.read { !stopping.load(ordering: .relaxed) && ContinuousClock.now - started < .seconds(300) }
        } catch {
            throw SupervisorError("a pipeline process could not start: \(process.reap())")
        }
        guard let frame, frame.kind == .ready else {
            process.kill()
            let reason = frame.map { String(decoding: $0.payload, as: UTF8.self) } ?? "no answer within 300 s"
            throw SupervisorError("a pipeline process could not start: \(reason)")
        }
        current.withLock { $0 = process }
        logger.debug("pipeline process ready", metadata: ["child.pid": "\(process.pid)",
                                                          "ms": "\((ContinuousClock.now - started).milliseconds)"])
    }

    private func retire(_ process: ChildProcess) -> String {
        // Forget it before reaping, so that `stop` can never signal a reused pid.
        current.withLock { $0 = nil }
        process.kill()
        return process.reap()
    }

    private func run(_ waiter: ChildPool.Waiter) -> ChildOutcome {
        let job = waiter.job
        guard job.stillWanted() else { return .abandoned }
        waiter.onStart()
        if child == nil {
            do { try spawn() } catch {
                return .died(Failure(stage: "worker", code: "worker_start", message: "\(error)", retriable: true))
            }
        }
        // A child that died while idle (the OOM killer, say) is replaced without blaming the job.
        if let idle = child, idle.hasExited {
            logger.warning("a pipeline process died while idle; starting another", metadata: ["how": "\(retire(idle))"])
            do { try spawn() } catch {
                return .died(Failure(stage: "worker", code: "worker_start", message: "\(error)", retriable: true))
            }
        }
        guard let process = child else { return .abandoned }
        let started = ContinuousClock.now
        var stop: ChildOutcome?
        let frame: ChildFrame?
        do {
            guard process.channel.write(job.header.frame(body: job.body)) else { throw ChildChannel.ReadEnd.closed }
            frame = try process.channel.read {
                if stopping.load(ordering: .relaxed) {
                    stop = .abandoned
                } else if (ContinuousClock.now - started).seconds > timeout {
                    stop = .died(Failure(stage: "worker", code: JobHandler.FailureCode.timeout,
                                         message: "the job ran past job_timeout_seconds (\(timeout) s); its process was stopped",
                                         retriable: true))
                } else if case let resident = process.residentBytes, resident > maxResidentBytes {
                    stop = .died(Failure(stage: "worker", code: JobHandler.FailureCode.memoryLimit,
                                         message: "the job's process grew to \(resident >> 20) MiB, over max_job_rss_bytes (\(maxResidentBytes >> 20) MiB)",
                                         retriable: false))
                }
                return stop == nil
            }
        } catch {
            if stopping.load(ordering: .relaxed) {
                _ = retire(process)
                return .abandoned
            }
            let how = retire(process)
            logger.error("a pipeline process died while running a job", metadata: ["child.pid": "\(process.pid)", "how": "\(how)"])
            return .died(Failure(stage: "worker", code: JobHandler.FailureCode.workerCrashed,
                                 message: "the process running the job died: \(how)", retriable: false))
        }
        guard let frame else {
            let how = retire(process)
            if case .died(let failure) = stop {
                logger.warning("stopped a pipeline process", metadata: ["reason": "\(failure.code)", "how": "\(how)"])
            }
            return stop ?? .abandoned
        }
        let finished = ContinuousClock.now
        guard frame.kind == .result else {
            let how = retire(process)
            return .died(Failure(stage: "worker", code: JobHandler.FailureCode.workerCrashed,
                                 message: "the process running the job answered out of turn and was replaced (\(how))",
                                 retriable: false))
        }
        if process.residentBytes > maxResidentBytes {
            logger.notice("recycling a pipeline process above max_job_rss_bytes", metadata: ["child.pid": "\(process.pid)"])
            _ = retire(process)
        }
        guard let result = try? GradingResult.parse(frame.payload) else {
            return .died(Failure(stage: "worker", code: "worker_protocol",
                                 message: "the pipeline process sent a result that does not parse", retriable: false))
        }
        return .result(result, finishedAt: finished)
    }
}

extension Duration {
    /// Whole and fractional seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// Milliseconds, rounded.
    var milliseconds: Int { Int((seconds * 1000).rounded()) }
}
