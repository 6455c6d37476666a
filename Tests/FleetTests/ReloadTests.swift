import Core
import Fleet
import Foundation
import Testing

/// SIGHUP reloads the pipeline config (issue 12): a good config takes the new jobs while a job
/// in flight finishes on the old one; a bad one leaves the old config serving.
@Suite("Reload on SIGHUP")
struct ReloadTests {
    /// The harness's test pipeline with another resize width: a different config, same work.
    static let changed = FleetHarness.testPipeline.replacingOccurrences(of: "width: 32, height: 64", with: "width: 16, height: 32")

    @Test("a good config serves the jobs after the reload; the job in flight finishes on the old one")
    func goodReload() async throws {
        try await FleetHarness.with(concurrency: 1) { harness in
            let worker = try harness.startWorker("w1", concurrency: 2)
            try await harness.waitForLog("w1", containing: "worker started")
            let before = harness.job("before")
            try await harness.submit([before])
            let old = try #require(try await harness.results(for: [before.jobID])[before.jobID]).fingerprint.config

            let slow = harness.job("slow", fault: "sleep:2500")
            try await harness.submit([slow])
            try await harness.waitForLog("w1", containing: "job started", count: 2)
            try Self.changed.write(to: harness.pipelineFile, atomically: true, encoding: .utf8)
            kill(worker.processIdentifier, SIGHUP)
            try await harness.waitForLog("w1", containing: "reloaded: new jobs use the new config")
            let after = harness.job("after")
            try await harness.submit([after])
            let results = try await harness.results(for: [slow.jobID, after.jobID])
            #expect(results[slow.jobID]?.status == "graded")
            #expect(results[slow.jobID]?.fingerprint.config == old, "the job in flight moved to the new config")
            #expect(results[after.jobID]?.fingerprint.config != old)
            #expect(results[after.jobID]?.fingerprint.config == (try PipelineConfig.load(file: harness.pipelineFile.path)).sha256)
            #expect(worker.isRunning)
        }
    }

    @Test("a config that does not validate is refused with its reason, and the old one keeps serving")
    func badReload() async throws {
        try await FleetHarness.with { harness in
            let worker = try harness.startWorker("w1")
            try await harness.waitForLog("w1", containing: "worker started")
            let before = harness.job("before")
            try await harness.submit([before])
            let old = try #require(try await harness.results(for: [before.jobID])[before.jobID]).fingerprint.config

            try FleetHarness.testPipeline.replacingOccurrences(of: "- to_tensor", with: "- to_tensr")
                .write(to: harness.pipelineFile, atomically: true, encoding: .utf8)
            kill(worker.processIdentifier, SIGHUP)
            try await harness.waitForLog("w1", containing: "reload refused: the config is wrong")
            #expect(harness.log("w1").contains("to_tensr"), "the log should name the mistake:\n\(harness.log("w1").suffix(1500))")
            let after = harness.job("after")
            try await harness.submit([after])
            let result = try #require(try await harness.results(for: [after.jobID])[after.jobID])
            #expect(result.status == "graded")
            #expect(result.fingerprint.config == old)
            #expect(worker.isRunning)
        }
    }
}
