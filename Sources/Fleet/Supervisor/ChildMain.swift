import Core
import Foundation

/// The child side of the prefork pool: `gradeline-worker child`.
///
/// It reads jobs from descriptor 3 and writes results to descriptor 4, one at a time, until
/// the supervisor closes its end. A job that crashes this process costs only that job: the
/// supervisor sees the pipe close, reports the job, and starts another child.
public enum ChildMain {
    /// Loads the pipeline (or reports why it cannot), then serves jobs; never returns.
    public static func run(load: () throws -> JobHandler) -> Never {
        // Anything a library prints must not reach the frame channel or the terminal's stdout.
        dup2(2, 1)
        // The supervisor alone decides when a child ends. systemd's stop (which signals the
        // whole control group) or a Ctrl-C (the whole process group) must not kill a child in
        // the middle of a job: the supervisor would count that as the job crashing it.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        // A broker socket that another thread of the supervisor was still setting up when this
        // child started (before rabbitmq-c marked it close-on-exec) must not live on here, or
        // the broker would see the connection open after the supervisor dropped it. Only
        // sockets: the runtime's own descriptors (epoll, eventfd) are left alone.
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap({ Int32($0) }) where descriptor > ChildProcess.childOutput {
            var status = stat()
            if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK { close(descriptor) }
        }
        Allocator.keepJobBuffers()
        var channel = ChildChannel(input: ChildProcess.childInput, output: ChildProcess.childOutput)
        let handler: JobHandler
        do {
            handler = try load()
        } catch {
            _ = channel.write(ChildFrame(kind: .fatal, payload: Array("\(error)".utf8)))
            exit(2)
        }
        guard channel.write(ChildFrame(kind: .ready, payload: [])) else { exit(0) }
        while true {
            let frame: ChildFrame?
            do {
                // A supervisor that was killed closes its end, and this read ends; the check
                // of the parent covers a pipe held open by something else.
                let parent = getppid()
                frame = try channel.read(intervalMs: 1000) { getppid() == parent }
            } catch {
                exit(0)  // the supervisor went away or broke the protocol
            }
            guard let frame else { exit(0) }
            guard frame.kind == .job, let (header, body) = ChildJobHeader.split(frame.payload) else { continue }
            let result = handler.evaluate(body, messageID: header.messageID, attempt: header.attempt,
                                          redelivered: header.redelivered)
            guard channel.write(ChildFrame(kind: .result, payload: Array(result.json().utf8))) else { exit(0) }
        }
    }
}
