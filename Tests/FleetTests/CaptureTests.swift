import Core
import Fleet
import Foundation
import Messaging
import Testing

@Suite("Capture files: collision-free names, write errors reported, replay goes on past a missing file")
struct CaptureTests {
    func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gradeline-capture-\(UUID().uuidString)").path
        for sub in ["jobs", "results"] {
            try FileManager.default.createDirectory(atPath: "\(path)/\(sub)", withIntermediateDirectories: true)
        }
        return path
    }

    func jobDelivery(_ id: String) throws -> Delivery {
        let job = Job(jobID: id, kioskID: "k", submittedAt: "2026-11-28T08:00:00Z",
                      images: [Job.Photo(side: .front, contentType: "image/png", data: "AAAA")])
        return Delivery(body: Array(try JSONEncoder().encode(job)), properties: MessageProperties(messageID: id),
                        exchange: "grading.jobs", routingKey: "job.k")
    }

    @Test("ids that sanitize alike get different files")
    func namesDoNotCollide() {
        let ids = ["a/b", "a_b", "a:b", "a\u{0}b", "A_b", "a b"]
        let names = Set(ids.map(Capture.fileName))
        #expect(names.count == ids.count)
        #expect(Capture.fileName("a/b").hasPrefix("a_b-"))
        #expect(Capture.fileName("a/b") == Capture.fileName("a/b"))
    }

    @Test("no slash survives, even inside a grapheme cluster (U+0D4E then /)")
    func noSlashInAGraphemeCluster() {
        let id = "x\u{0D4E}/../../etc/passwd"
        #expect(id.count < id.unicodeScalars.count)  // the slash hides in a Character
        let name = Capture.fileName(id)
        #expect(!name.contains("/"))
        #expect(!name.unicodeScalars.contains("/"))
        #expect(name.unicodeScalars.allSatisfy { $0.isASCII })
    }

    @Test("a name stays short for the longest id")
    func namesAreBounded() {
        let name = Capture.fileName(String(repeating: "😀", count: 32))
        #expect(name.utf8.count <= 48 + 1 + 12 + ".json".utf8.count)
    }

    @Test("recording a/b and a_b keeps both jobs")
    func recordsBothColliders() throws {
        let directory = try folder()
        var capture = Capture(capturedAt: "2026-11-28T08:00:00Z")
        try capture.record(try jobDelivery("a/b"), jobsExchange: "grading.jobs", directory: directory)
        try capture.record(try jobDelivery("a_b"), jobsExchange: "grading.jobs", directory: directory)
        try capture.save(directory)
        let (jobs, problems) = try Capture.load(directory).replayables(in: directory)
        #expect(problems.isEmpty)
        #expect(jobs.map(\.job.jobID) == ["a/b", "a_b"])
    }

    @Test("a job that cannot be written is an error naming the file")
    func writeErrorsAreReported() throws {
        let directory = try folder()
        try FileManager.default.removeItem(atPath: "\(directory)/jobs")
        var capture = Capture(capturedAt: "2026-11-28T08:00:00Z")
        do {
            try capture.record(try jobDelivery("j1"), jobsExchange: "grading.jobs", directory: directory)
            Issue.record("the write error was swallowed")
        } catch {
            #expect("\(error)".contains("\(directory)/jobs/\(Capture.fileName("j1"))"), "\(error)")
            #expect("\(error)".contains("cannot write"))
        }
        #expect(capture.entries.isEmpty)
    }

    @Test("replay names a missing job file and still loads the rest")
    func missingFilesAreNamedAndSkipped() throws {
        let directory = try folder()
        var capture = Capture(capturedAt: "2026-11-28T08:00:00Z")
        for id in ["one", "two", "three"] {
            try capture.record(try jobDelivery(id), jobsExchange: "grading.jobs", directory: directory)
        }
        capture.entries[2].result = "results/gone.json"
        try capture.save(directory)
        try FileManager.default.removeItem(atPath: "\(directory)/\(capture.entries[1].job)")
        let (jobs, problems) = try Capture.load(directory).replayables(in: directory)
        #expect(jobs.map(\.job.jobID) == ["one", "three"])
        #expect(problems.count == 2)
        #expect(problems[0].contains(capture.entries[1].job) && problems[0].contains("'two' is missing"))
        #expect(problems[1].contains("results/gone.json") && problems[1].contains("missing"))
    }
}
