import Foundation
import Testing
@testable import Core

@Suite("Job messages: a bad one gets an error naming the field at fault")
struct JobTests {
    static let png = Fixtures.gradientPNG(width: 4, height: 4)

    func body(_ mutate: (inout [String: Any]) -> Void) -> [UInt8] {
        var job: [String: Any] = [
            "schema": "gradeline.job/1", "job_id": "j-1", "kiosk_id": "k-9",
            "submitted_at": "2026-11-28T07:19:26Z", "device": ["model": "Pixel 7"],
            "images": [["side": "front", "content_type": "image/png", "data": Base64.encode(Self.png)],
                       ["side": "back", "content_type": "image/png", "data": Base64.encode(Self.png)]],
        ]
        mutate(&job)
        return Array(try! JSONSerialization.data(withJSONObject: job))
    }

    func expectError(_ body: [UInt8], _ code: JobError.Code, field: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Job.parse(body).request()
            Issue.record("the job was accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("a valid job becomes a Request with its photos in side order")
    func validJob() throws {
        let request = try Job.parse(body { _ in }).request()
        #expect(request.jobID == "j-1")
        #expect(request.kioskID == "k-9")
        #expect(request.device["model"] == .string("Pixel 7"))
        #expect(request[.photos]?.sides == [.front, .back])
        #expect(request[.photos]?[.back]?.bytes == Self.png)
    }

    @Test("each malformed job names its problem")
    func malformed() {
        expectError(Array("{not json".utf8), .notJSON, field: "")
        expectError(body { $0["job_id"] = nil }, .schemaViolation, field: "job_id")
        expectError(body { $0["job_id"] = 12 }, .schemaViolation, field: "job_id")
        expectError(body { $0["schema"] = "gradeline.job/2" }, .schemaViolation, field: "schema")
        expectError(body { $0["submitted_at"] = "yesterday" }, .schemaViolation, field: "submitted_at")
        expectError(body { $0["images"] = [] }, .noImages, field: "images")
        expectError(body { job in
            job["images"] = [["side": "inside", "content_type": "image/png", "data": "AAAA"]]
        }, .schemaViolation, field: "images[0].side")
        expectError(body { job in
            job["images"] = [["side": "front", "content_type": "image/png", "data": "AAAA"],
                             ["side": "front", "content_type": "image/png", "data": "AAAA"]]
        }, .schemaViolation, field: "images[1].side")
        expectError(body { job in
            job["images"] = [["side": "front", "content_type": "image/tiff", "data": "AAAA"]]
        }, .unsupportedContentType, field: "images[0].content_type")
        expectError(body { job in
            job["images"] = [["side": "front", "content_type": "image/png", "data": "AAAA"],
                             ["side": "back", "content_type": "image/png", "data": "%%% not base64"]]
        }, .badBase64, field: "images[1].data")
        expectError(body { job in
            job["images"] = [["side": "front", "content_type": "image/png"]]
        }, .schemaViolation, field: "images[0].data")
    }

    @Test("an oversized body is refused before it is parsed")
    func oversized() {
        do {
            _ = try Job.parse(body { _ in }, maxBytes: 100)
            Issue.record("accepted")
        } catch {
            #expect(error.code == .tooLarge)
            #expect(error.reason.contains("the limit is 100"))
        }
    }

    @Test("a job made from files round-trips through JSON")
    func fromFilesRoundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gradeline-job-test.png").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(Self.png))
        let job = try Job.fromFiles([(.back, path), (.front, path)], jobID: "f", kioskID: "k")
        let encoded = try JSONEncoder().encode(job)
        let parsed = try Job.parse(Array(encoded))
        #expect(parsed == job)
        #expect(parsed.images.map(\.contentType) == ["image/png", "image/png"])
    }
}
