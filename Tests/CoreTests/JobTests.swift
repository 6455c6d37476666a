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

    func parse(_ text: String) -> Result<Job, JobError> {
        do { return .success(try Job.parse(Array(text.utf8))) } catch { return .failure(error) }
    }

    /// The sample job as text, with `extra` spliced in after the opening brace.
    func text(_ extra: String = "", submittedAt: String = "2026-11-28T07:19:26Z") -> String {
        #"{\#(extra)"schema": "gradeline.job/1", "job_id": "j-1", "kiosk_id": "k-9", "submitted_at": "\#(submittedAt)", "#
            + #""images": [{"side": "front", "content_type": "image/png", "data": "AAAA"}]}"#
    }

    func expectError(_ text: String, _ code: JobError.Code, field: String, reasonContains: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        switch parse(text) {
        case .success: Issue.record("accepted: \(Echo.clip(text))", sourceLocation: sourceLocation)
        case .failure(let error):
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
            if let reasonContains {
                #expect(error.reason.contains(reasonContains), "\(error)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("unknown fields are refused, at the top and in an image, but not inside device")
    func unknownFields() {
        expectError(text(#""colour": "red", "#), .schemaViolation, field: "colour", reasonContains: "is not a field")
        expectError(text().replacingOccurrences(of: #""data": "AAAA""#, with: #""data": "AAAA", "width": 4"#),
                    .schemaViolation, field: "images[0].width")
        #expect((try? parse(text(#""device": {"colour": "red", "nested": {"any": [1, null]}}, "#)).get()) != nil)
    }

    @Test("a duplicate key is refused wherever it is, naming its path")
    func duplicateKeys() {
        expectError(text(#""job_id": "first", "#), .schemaViolation, field: "job_id", reasonContains: "twice")
        expectError(text(#""device": {"model": "a", "model": "b"}, "#), .schemaViolation, field: "device.model")
        expectError(text().replacingOccurrences(of: #""side": "front""#, with: #""side": "front", "side": "back""#),
                    .schemaViolation, field: "images[0].side")
    }

    @Test("device must be an object when present; null is refused")
    func deviceNull() {
        expectError(text(#""device": null, "#), .schemaViolation, field: "device", reasonContains: "expected an object")
        expectError(text(#""device": [1], "#), .schemaViolation, field: "device")
    }

    @Test("impossible timestamps are refused", arguments: [
        "2026-02-30T07:19:26Z", "2025-02-29T00:00:00Z", "99999-01-01T00:00:00Z", "2026-11-28T24:00:00Z",
        "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-28T07:60:00Z",
        "2026-11-28T07:19:61Z", "2026-11-28T07:19:60Z", "2026-11-28T07:19:26", "2026-11-28 07:19:26Z",
        "2026-11-28T07:19:26.Z", "2026-11-28T07:19:26+5:30", "2026-11-28T07:19:26+24:00", "0000-01-01T00:00:00Z",
        "2026-11-28T07:19:26Zjunk", "２026-11-28T07:19:26Z",
    ])
    func impossibleTimestamps(_ timestamp: String) {
        expectError(text(submittedAt: timestamp), .schemaViolation, field: "submitted_at")
    }

    @Test("every RFC 3339 date-time form is accepted", arguments: [
        "2026-11-28T07:19:26Z", "2026-11-28t07:19:26z", "2016-12-31T23:59:60Z", "2017-01-01T05:29:60+05:30",
        "2026-11-28T07:19:26+05:30", "2026-11-28T07:19:26-08:00", "2026-11-28T07:19:26.123456789Z",
        "2024-02-29T00:00:00Z", "2000-02-29T12:00:00.5+00:00", "0001-01-01T00:00:00Z",
    ])
    func validTimestamps(_ timestamp: String) throws {
        let job = try parse(text(submittedAt: timestamp)).get()
        #expect(job.submittedAt == timestamp)
    }

    @Test("job_id and kiosk_id are limited to 128 UTF-8 bytes, not characters")
    func idByteLimits() {
        let fits = String(repeating: "a", count: 128)
        #expect((try? parse(text().replacingOccurrences(of: #""j-1""#, with: "\"\(fits)\"")).get()) != nil)
        // 40 emoji are 40 characters but 160 bytes.
        let emoji = String(repeating: "😀", count: 40)
        expectError(text().replacingOccurrences(of: #""j-1""#, with: "\"\(emoji)\""), .schemaViolation,
                    field: "job_id", reasonContains: "128 bytes")
        // One character of many combining marks.
        let combining = "e" + String(repeating: "\u{301}", count: 100)
        expectError(text().replacingOccurrences(of: #""j-1""#, with: "\"\(combining)\""), .schemaViolation, field: "job_id")
        expectError(text().replacingOccurrences(of: #""k-9""#, with: "\"\(String(repeating: "k", count: 129))\""),
                    .schemaViolation, field: "kiosk_id")
    }

    @Test("a top-level value that is not an object says what it is", arguments: [
        ("[1, 2]", "not an array"), ("null", "not null"), (#""job""#, "not a string"), ("42", "not a number"),
        ("true", "not true or false"),
    ])
    func topLevelKinds(_ body: String, _ says: String) {
        expectError(body, .schemaViolation, field: "", reasonContains: "the job must be a JSON object, \(says)")
    }

    @Test("JSON nested past the depth limit names the limit")
    func tooDeep() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        expectError(text(#""device": {"a": \#(deep)}, "#), .tooDeep, field: "device.a" + String(repeating: "[0]", count: 62),
                    reasonContains: "the limit is \(StrictJSON.defaultMaxDepth)")
        // 64 levels are fine.
        let fits = String(repeating: "[", count: 62) + String(repeating: "]", count: 62)
        #expect((try? parse(text(#""device": {"a": \#(fits)}, "#)).get()) != nil)
    }

    @Test("a number out of range says so, naming its field")
    func numberOutOfRange() {
        expectError(text(#""device": {"storage": 1e999999}, "#), .schemaViolation, field: "device.storage",
                    reasonContains: "out of range")
        expectError("1e999999", .schemaViolation, field: "", reasonContains: "out of range")
    }

    @Test("a gzip body is refused as compressed, not as bad JSON")
    func gzip() {
        do {
            _ = try Job.parse([0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00])
            Issue.record("accepted")
        } catch {
            #expect(error.code == .compressed)
            #expect(error.reason.contains("compressed bodies are not supported; publish the JSON uncompressed"))
        }
    }

    @Test("syntax errors say what was found and where")
    func syntaxErrors() {
        expectError(#"{"schema": }"#, .notJSON, field: "schema", reasonContains: "found '}' at byte 11 (line 1, column 12)")
        expectError("{\"a\": \"x\ny\"}", .notJSON, field: "a", reasonContains: "control character")
        expectError(#"{"a": 1} x"#, .notJSON, field: "", reasonContains: "after the JSON value")
        expectError(#"{"a": "\ud800"}"#, .notJSON, field: "a")
    }

    @Test("escapes and unicode in strings decode exactly")
    func stringEscapes() throws {
        let value = try StrictJSON.parse(Array(#"["a\"b\\c\/d\n\u00e9\ud83d\ude00", "é😀", -0.5, 12, 1e2]"#.utf8))
        #expect(value == .array([.string("a\"b\\c/d\né😀"), .string("é😀"), .double(-0.5), .int(12), .double(100)]))
    }

    /// The string scan passes 16 plain bytes at a time; whatever the offset of a quote, an
    /// escape, a control character or a byte that is not UTF-8, the answer is the byte loop's.
    @Test("a string's special byte is seen at every offset of the 16-byte scan", arguments: 0..<40)
    func specialBytesAtEveryOffset(offset: Int) throws {
        let head = String(repeating: "a", count: offset), tail = String(repeating: "b", count: 37)
        #expect(try StrictJSON.parse(Array("[\"\(head)\\n\(tail)\"]".utf8)) == .array([.string(head + "\n" + tail)]))
        #expect(try StrictJSON.parse(Array("[\"\(head)\", \"\(tail)\"]".utf8)) == .array([.string(head), .string(tail)]))
        // Multi-byte characters whose bytes, less their top bit, are a quote, a backslash or a
        // control character: "•" (E2 80 A2), "Ü" (C3 9C), U+0085 (C2 85) and U+0700 (DC 80).
        for odd in ["é", "•", "Ü", "\u{85}", "\u{700}"] {
            #expect(try StrictJSON.parse(Array("[\"\(head)\(odd)\", \"\(odd)\(tail)\"]".utf8))
                    == .array([.string(head + odd), .string(odd + tail)]))
        }
        for (bytes, reason) in [(Array("[\"\(head)\t\(tail)\"]".utf8), "control character"),
                                (Array("[\"\(head)".utf8) + [0xC3, 0x28] + Array("\(tail)\"]".utf8), "not valid UTF-8"),
                                (Array("[\"\(head)\(tail)".utf8), "not closed")] {
            do {
                _ = try StrictJSON.parse(bytes)
                Issue.record("accepted with the special byte at \(offset)")
            } catch {
                #expect(error.description.contains(reason), "\(error)")
            }
        }
    }

    @Test("a huge value is never echoed whole into an error")
    func hugeValuesAreClipped() {
        let huge = String(repeating: "x", count: 5_000_000)
        for body in [text().replacingOccurrences(of: #""image/png""#, with: "\"\(huge)\""),
                     text().replacingOccurrences(of: #""gradeline.job/1""#, with: "\"\(huge)\""),
                     text(submittedAt: huge),
                     text().replacingOccurrences(of: #""front""#, with: "\"\(huge)\""),
                     text("\"\(huge)\": 1, ")] {
            switch parse(body) {
            case .success: Issue.record("accepted")
            case .failure(let error):
                #expect(error.description.utf8.count < 600, "\(error.description.utf8.count) bytes")
                #expect(error.description.contains("…"))
            }
        }
    }

    @Test("Echo.clip cuts at a scalar boundary within the byte limit and marks the cut")
    func echoClip() {
        #expect(Echo.clip("short") == "short")
        #expect(Echo.clip("aé😀", maxBytes: 4) == "aé…")
        #expect(Echo.clip(String(repeating: "y", count: 1000)).utf8.count == Echo.defaultMaxBytes + "…".utf8.count)
    }
}
