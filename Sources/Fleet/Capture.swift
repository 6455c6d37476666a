import Core
import Foundation

/// A folder of recorded jobs and their results: format `gradeline.capture/1`.
///
/// ```
/// DIR/manifest.json        {"schema": "gradeline.capture/1", "captured_at": ..., "entries": [...]}
/// DIR/jobs/<name>.json     each job message body, byte for byte
/// DIR/results/<name>.json  the first result seen for that job (absent if none came)
/// DIR/pipeline.yaml        optional: the pipeline config the results were made with
/// ```
/// Each entry is `{"job_id", "job": "jobs/<name>.json", "result": "results/<name>.json" or null,
/// "routing_key", "message_id"}`. `<name>` is the job id with anything but letters, digits,
/// `-`, `_` and `.` replaced by `_`.
public struct Capture: Codable, Sendable {
    public static let schemaID = "gradeline.capture/1"

    public struct Entry: Codable, Sendable, Hashable {
        public var jobID: String
        public var job: String
        public var result: String?
        public var routingKey: String
        public var messageID: String?

        public init(jobID: String, job: String, result: String?, routingKey: String, messageID: String?) {
            self.jobID = jobID
            self.job = job
            self.result = result
            self.routingKey = routingKey
            self.messageID = messageID
        }

        enum CodingKeys: String, CodingKey {
            case job, result
            case jobID = "job_id"
            case routingKey = "routing_key"
            case messageID = "message_id"
        }
    }

    public var schema = Capture.schemaID
    public var capturedAt: String
    public var entries: [Entry] = []

    enum CodingKeys: String, CodingKey {
        case schema, entries
        case capturedAt = "captured_at"
    }

    public init(capturedAt: String) { self.capturedAt = capturedAt }

    /// A file name for a job id.
    public static func fileName(_ jobID: String) -> String {
        String(jobID.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" }) + ".json"
    }

    /// Reads `DIR/manifest.json`, checking the schema.
    public static func load(_ directory: String) throws -> Capture {
        let path = "\(directory)/manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CaptureError("\(path): cannot read the capture manifest")
        }
        let capture: Capture
        do {
            capture = try JSONDecoder().decode(Capture.self, from: data)
        } catch {
            throw CaptureError("\(path): not a capture manifest: \(error)")
        }
        guard capture.schema == schemaID else {
            throw CaptureError("\(path): schema is '\(capture.schema)'; this version reads '\(schemaID)'")
        }
        return capture
    }

    /// Writes the manifest (atomically, so an interrupted capture leaves a readable one).
    public func save(_ directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: "\(directory)/manifest.json"), options: .atomic)
    }
}

/// A capture folder that cannot be read.
public struct CaptureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
