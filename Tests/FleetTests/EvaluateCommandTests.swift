import Foundation
import Testing

/// `gradeline-worker evaluate` as the test command and a person run it: the binary, the shipped
/// config and the committed golden set.
@Suite("The evaluate command and its gate")
struct EvaluateCommandTests {
    static let golden = FleetHarness.repository.appendingPathComponent("experiment/evalset/golden").path
    static let pipeline = FleetHarness.repository.appendingPathComponent("config/pipeline.yaml").path

    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).json").path
    }

    @Test("it writes a JSON and a Markdown report, and fails against a baseline that did better")
    func gateFails() throws {
        let report = Self.temporary("evaluation")
        let first = try CanaryStartTests.run(["evaluate", "--golden", Self.golden, "--case", "g003",
                                              "--pipeline", Self.pipeline, "--report", report])
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.stdout.contains("| accepted_rate |"))
        #expect(first.stderr.contains("[1/1] g003"))
        let markdown = URL(fileURLWithPath: report).deletingPathExtension().appendingPathExtension("md").path
        #expect(FileManager.default.fileExists(atPath: markdown))

        // The same run is its own baseline: no regression.
        let same = try CanaryStartTests.run(["evaluate", "--golden", Self.golden, "--case", "g003",
                                             "--pipeline", Self.pipeline, "--baseline", report])
        #expect(same.status == 0, "stderr: \(same.stderr)")

        // A perfect baseline: the expected grade and every pixel right. Whatever this model does,
        // a grade or an IoU fell, so the gate fails.
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        var cases = try #require(json["cases"] as? [[String: Any]])
        cases[0]["status"] = "graded"
        cases[0]["grade"] = cases[0]["expected_grade"]
        cases[0]["reasons"] = [String]()
        cases[0]["pixels"] = try #require(cases[0]["pixels"] as? [[String: Any]]).map { pixels in
            var perfect = pixels
            perfect["predicted"] = pixels["actual"]
            perfect["intersection"] = pixels["actual"]
            return perfect
        }
        json["cases"] = cases
        let better = Self.temporary("better")
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: better))
        let worse = try CanaryStartTests.run(["evaluate", "--golden", Self.golden, "--case", "g003",
                                              "--pipeline", Self.pipeline, "--baseline", better])
        #expect(worse.status == 1, "stderr: \(worse.stderr)")
        #expect(worse.stderr.contains("evaluate: regression: "))
        #expect(worse.stderr.contains("fell from 1.000 to "))
        #expect(worse.stdout.contains("## Regressions against the baseline"))
    }

    @Test("a golden set, case or baseline that cannot be read exits 2 and names it")
    func unreadable() throws {
        let missing = try CanaryStartTests.run(["evaluate", "--golden", "/nonexistent/golden", "--pipeline", Self.pipeline])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/golden/manifest.json"))
        let unknown = try CanaryStartTests.run(["evaluate", "--golden", Self.golden, "--case", "g999", "--pipeline", Self.pipeline])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("case 'g999' is not in"))
        let baseline = Self.temporary("not-a-report")
        try #"{"schema": "something/1"}"#.write(toFile: baseline, atomically: true, encoding: .utf8)
        let wrong = try CanaryStartTests.run(["evaluate", "--golden", Self.golden, "--case", "g032",
                                              "--pipeline", Self.pipeline, "--baseline", baseline])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains(baseline))
    }

    @Test("a golden photo cut short is that case's failed result, named in the report; the run goes on")
    func truncatedPhoto() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UUID().uuidString)")
        let source = URL(fileURLWithPath: Self.golden)
        for id in ["g032", "g033"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(id), to: folder.appendingPathComponent(id))
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        try #"{"schema": "gradeline.golden/1", "cases": ["g032", "g033"]}"#.write(
            to: folder.appendingPathComponent("manifest.json"), atomically: true, encoding: .utf8)
        // The kiosk's upload stopped half way: the JPEG has its header but not its end.
        let photo = folder.appendingPathComponent("g032/front.jpg")
        let bytes = try Data(contentsOf: photo)
        try bytes.prefix(bytes.count / 2).write(to: photo)

        let done = try CanaryStartTests.run(["evaluate", "--golden", folder.path, "--pipeline", Self.pipeline])
        #expect(done.status == 0, "stderr: \(done.stderr)")
        #expect(done.stderr.contains("[1/2] g032 failed"))
        #expect(done.stderr.contains("[2/2] g033 rejected too_dark"))
        #expect(done.stdout.contains("| g032 |  | rejected missing_side | failed  image.corrupt"))
        #expect(done.stdout.contains("| must_reject_correct | 0.500 |"))
    }
}
