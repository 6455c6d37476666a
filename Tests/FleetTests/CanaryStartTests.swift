import Foundation
import Testing

/// The worker binary refuses to start when a canary job differs from its recording: before it
/// connects (so no broker is needed here), with exit status 3 and a message that names the stage.
@Suite("Canaries at start (no broker)")
struct CanaryStartTests {
    /// The shipped config with absolute paths, one canary job, and normalize's mean changed.
    static func changedConfig() throws -> URL {
        let root = FleetHarness.repository.path
        let text = try String(contentsOfFile: "\(root)/config/pipeline.yaml", encoding: .utf8)
            .replacingOccurrences(of: "file: ../models/", with: "file: \(root)/models/")
            .replacingOccurrences(of: "rules: grading.yaml", with: "rules: \(root)/config/grading.yaml")
            .replacingOccurrences(of: "dir: ../models/canaries", with: "dir: \(root)/models/canaries")
            .replacingOccurrences(of: "jobs: [phone-01, phone-02, phone-03]", with: "jobs: [phone-01]")
            .replacingOccurrences(of: "mean: [0.485, 0.456, 0.406]", with: "mean: [0.5, 0.456, 0.406]")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("canary-start-\(UUID().uuidString).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FleetHarness.binary("gradeline-worker"))
        process.arguments = arguments
        process.currentDirectoryURL = FileManager.default.temporaryDirectory  // no config/worker.yaml here
        process.environment = ProcessInfo.processInfo.environment.merging(["GRADELINE_METRICS_PORT": "0"]) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test("run exits 3 before connecting, naming the first changed stage, both hashes and the likely causes")
    func runRefusesToStart() throws {
        let config = try Self.changedConfig()
        defer { try? FileManager.default.removeItem(at: config) }
        // Port 1 has no broker: a worker that tried to connect would log and retry, not exit 3.
        let done = try Self.run(["run", "--pipeline", config.path, "--amqp-url", "amqp://guest:guest@127.0.0.1:1/"])
        #expect(done.status == 3, "stderr: \(done.stderr)")
        #expect(done.stderr.contains("canary 'phone-01' differs"))
        #expect(done.stderr.contains("first at stage preprocess/normalize (normalized)"))
        #expect(done.stderr.contains("expected sha256 ") && done.stderr.contains("actual   sha256 "))
        #expect(done.stderr.contains("likely causes: a changed param of normalize"))
        #expect(!done.stderr.contains("connected to the broker"))
    }

    @Test("check-config runs the canaries too and exits 3 on a difference")
    func checkConfigRunsCanaries() throws {
        let config = try Self.changedConfig()
        defer { try? FileManager.default.removeItem(at: config) }
        let done = try Self.run(["check-config", "--pipeline", config.path])
        #expect(done.status == 3, "stderr: \(done.stderr)")
        #expect(done.stdout.contains(": ok, config sha256 "))
        #expect(done.stderr.contains("first at stage preprocess/normalize"))
    }
}
