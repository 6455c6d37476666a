import Foundation

/// One child process that runs pipelines, with a frame channel to it on descriptors 3 and 4.
///
/// - Important: Only the supervisor slot that spawned it calls `channel`; `kill` may come from
///   any thread (the shutdown deadline), which is safe since it only sends a signal.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    var channel: ChildChannel
    private var reaped = false

    private static let spawnLock = NSLock()

    /// The descriptors the child reads jobs from and writes results to.
    static let childInput: Int32 = 3
    static let childOutput: Int32 = 4

    private init(pid: pid_t, channel: ChildChannel) {
        self.pid = pid
        self.channel = channel
    }

    /// Starts `executable` with `arguments`; its standard error is the parent's.
    static func spawn(executable: String, arguments: [String]) throws -> ChildProcess {
        // One spawn at a time: a pipe end made by one slot must be close-on-exec before another
        // slot's child starts, or that child would hold it open and hide this child's death.
        spawnLock.lock()
        defer { spawnLock.unlock() }
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0 else { throw SupervisorError("cannot make a pipe: errno \(errno)") }
        guard pipe(&fromChild) == 0 else {
            close(toChild[0]); close(toChild[1])
            throw SupervisorError("cannot make a pipe: errno \(errno)")
        }
        for end in toChild + fromChild { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copies, so the child keeps exactly these two.
        posix_spawn_file_actions_adddup2(&actions, toChild[0], childInput)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], childOutput)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(toChild[0])
        close(fromChild[1])
        guard status == 0 else {
            close(toChild[1]); close(fromChild[0])
            throw SupervisorError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        // A write to a child that died must be an error, not a SIGPIPE for the whole worker.
        signal(SIGPIPE, SIG_IGN)
        return ChildProcess(pid: pid, channel: ChildChannel(input: fromChild[0], output: toChild[1]))
    }

    deinit {
        close(channel.input)
        close(channel.output)
        if !reaped {
            Glibc.kill(pid, SIGKILL)
            _ = reap()
        }
    }

    func kill() { Glibc.kill(pid, SIGKILL) }

    /// Waits for the child to end and says how it ended, such as "signal 6 (SIGABRT)".
    @discardableResult
    func reap() -> String {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { reaped = true; return "it ended (status unknown)" }
        }
        reaped = true
        let signal = status & 0x7f
        if signal == 0 { return "it exited with status \((status >> 8) & 0xff)" }
        let name = strsignal(signal).map { String(cString: $0) } ?? "?"
        return "it was killed by signal \(signal) (\(name))"
    }

    /// True when the child has ended (it stays unreaped until `reap`).
    var hasExited: Bool {
        var info = siginfo_t()
        // WNOWAIT leaves it for `reap`; si_pid is 0 while the child runs.
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._kill.si_pid != 0
    }

    /// The child's resident memory in bytes, from /proc; 0 when it cannot be read.
    var residentBytes: Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// The supervisor could not start or talk to a child process.
public struct SupervisorError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
