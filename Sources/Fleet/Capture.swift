import Core
import Foundation
import Messaging

/// A folder of recorded jobs and their results: format `gradeline.capture/1`.
///
/// ```
/// DIR/manifest.json        {"schema": "gradeline.capture/1", "captured_at": ..., "entries": [...]}
/// DIR/jobs/<name>.json     each job message body, byte for byte
/// DIR/results/<name>.json  the first result seen for that job (absent if none came)
/// DIR/pipeline.yaml        optional: the pipeline config the results were made with
/// ```
/// Each entry is `{"job_id", "job": "jobs/<name>.json", "result": "results/<name>.json" or null,
/// "routing_key", "message_id"}`. `<name>` is the job id cut to 48 bytes, each Unicode scalar
/// that is not an ASCII letter, digit, `-`, `_` or `.` replaced by `_`, then `-` and the first
/// 12 hex digits of the SHA-256 of the exact job id: ids that sanitize alike (`a/b`, `a_b`)
/// still get files of their own.
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

    /// A file name for a job id: a readable prefix plus a hash of the exact id (see above).
    public static func fileName(_ jobID: String) -> String {
        var prefix = ""
        for scalar in jobID.unicodeScalars {
            guard prefix.utf8.count < 48 else { break }
            let keep = scalar.isASCII && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                                          || ("0"..."9").contains(scalar) || "-_.".unicodeScalars.contains(scalar))
            prefix.unicodeScalars.append(keep ? scalar : "_")
        }
        return "\(prefix)-\(SHA256.hex(jobID).prefix(12)).json"
    }

    /// Writes `bytes` to `DIR/name`; the error names the file.
    public static func write(_ bytes: [UInt8], to name: String, in directory: String) throws(CaptureError) {
        let path = "\(directory)/\(name)"
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        } catch {
            throw CaptureError("\(path): cannot write: \(error.localizedDescription)")
        }
    }

    /// Writes a captured job or result into `directory` and notes it in the manifest. A body
    /// that is neither a new job nor the first result of a captured one is skipped.
    public mutating func record(_ delivery: Delivery, jobsExchange: String, directory: String) throws(CaptureError) {
        if delivery.exchange == jobsExchange {
            guard let job = try? Job.parse(delivery.body),
                  !entries.contains(where: { $0.jobID == job.jobID }) else { return }
            let name = "jobs/\(Self.fileName(job.jobID))"
            try Self.write(delivery.body, to: name, in: directory)
            entries.append(Entry(jobID: job.jobID, job: name, result: nil, routingKey: delivery.routingKey,
                                 messageID: delivery.properties.messageID))
        } else if let result = try? GradingResult.parse(delivery.body),
                  let index = entries.firstIndex(where: { $0.jobID == result.jobID && $0.result == nil }) {
            let name = "results/\(Self.fileName(result.jobID))"
            try Self.write(Array(result.json(pretty: true).utf8), to: name, in: directory)
            entries[index].result = name
        }
    }

    /// A captured job with its recorded result, as `replay` reads them.
    public struct Replayable: Sendable {
        public var entry: Entry
        public var job: Job
        /// The recorded result, or nil when none was captured or its file is missing.
        public var recorded: GradingResult?
    }

    /// Reads every entry's job and result from `directory`. A file that is missing or
    /// unreadable is named in `problems` and its entry (for a job) is skipped; the rest load.
    public func replayables(in directory: String) -> (jobs: [Replayable], problems: [String]) {
        var jobs: [Replayable] = []
        var problems: [String] = []
        for entry in entries {
            let jobPath = "\(directory)/\(entry.job)"
            guard let data = FileManager.default.contents(atPath: jobPath) else {
                problems.append("\(jobPath): the captured job '\(Echo.clip(entry.jobID))' is missing; skipped")
                continue
            }
            let job: Job
            do {
                job = try Job.parse([UInt8](data))
            } catch {
                problems.append("\(jobPath): the captured job '\(Echo.clip(entry.jobID))' is not a valid job (\(error)); skipped")
                continue
            }
            var recorded: GradingResult?
            if let result = entry.result {
                let resultPath = "\(directory)/\(result)"
                if let data = FileManager.default.contents(atPath: resultPath) {
                    do {
                        recorded = try GradingResult.parse([UInt8](data))
                    } catch {
                        problems.append("\(resultPath): the recorded result of '\(Echo.clip(entry.jobID))' is not a valid result (\(error))")
                    }
                } else {
                    problems.append("\(resultPath): the recorded result of '\(Echo.clip(entry.jobID))' is missing")
                }
            }
            jobs.append(Replayable(entry: entry, job: job, recorded: recorded))
        }
        return (jobs, problems)
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
