import Foundation

/// What identifies the code and data that produced a result.
public struct Fingerprint: Codable, Sendable, Hashable {
    /// SHA-256 of the normalized pipeline config.
    public var config: String
    /// SHA-256 of each model file, by model name.
    public var models: [String: String]
    public var workerVersion: String

    public init(config: String, models: [String: String] = [:], workerVersion: String) {
        self.config = config
        self.models = models
        self.workerVersion = workerVersion
    }

    enum CodingKeys: String, CodingKey {
        case config = "config_sha256"
        case models
        case workerVersion = "worker_version"
    }
}

/// A graded, rejected or failed job: schema `gradeline.result/1` (see docs/schema/result.schema.json).
public struct GradingResult: Codable, Sendable, Hashable {
    public static let schemaID = "gradeline.result/1"

    public var schema = Self.schemaID
    public var jobID: String
    /// `graded`, `rejected` or `failed`.
    public var status: String
    /// The grade's name, when a pipeline wrote one.
    public var grade: String?
    /// The grade rule that matched.
    public var gradeRule: String?
    public var damages: [Damage]
    public var reasons: [Reason]
    public var error: Failure?
    public var fingerprint: Fingerprint
    /// 1 for the first try; a retry has a higher number.
    public var attempt: Int
    /// True when the broker delivered this job before (a worker died with it).
    public var redelivered: Bool
    public var workerID: String
    /// Milliseconds per pipeline, plus `total`.
    public var timings: [String: Double]
    public var trace: [TraceEntry]
    /// Overlay PNGs per side, when the pipeline's overlay step attaches them; else empty.
    public var overlays: [Attachment] = []

    /// An encoded image that travels with the result.
    public struct Attachment: Codable, Sendable, Hashable {
        public var side: Side
        public var contentType: String
        /// Base64 of the bytes.
        public var data: String

        enum CodingKeys: String, CodingKey {
            case side, data
            case contentType = "content_type"
        }
    }

    /// The result of a job that ran through the pipelines.
    public init(request: Request, outcome: Outcome, fingerprint: Fingerprint, attempt: Int = 1,
                redelivered: Bool = false, workerID: String) {
        jobID = request.jobID
        status = outcome.status
        let grade = outcome == .graded ? request[.grade] : nil
        self.grade = grade?.value
        gradeRule = grade?.rule
        damages = outcome == .graded ? request[.damages]?.items ?? [] : []
        switch outcome {
        case .graded: reasons = []; error = nil
        case .rejected(let found): reasons = found; error = nil
        case .failed(let failure): reasons = []; error = failure
        }
        self.fingerprint = fingerprint
        self.attempt = attempt
        self.redelivered = redelivered
        self.workerID = workerID
        timings = request.timings
        timings["total"] = request.timings.values.reduce(0, +)
        trace = request.trace
        overlays = (request[.overlays]?.entries ?? []).map {
            Attachment(side: $0.side, contentType: $0.value.contentType, data: Base64.encode($0.value.bytes))
        }
    }

    /// The result of a job that failed before any pipeline ran, such as a malformed message.
    public init(jobID: String, failure: Failure, fingerprint: Fingerprint, attempt: Int = 1,
                redelivered: Bool = false, workerID: String) {
        self.jobID = jobID
        status = "failed"
        damages = []
        reasons = []
        error = failure
        self.fingerprint = fingerprint
        self.attempt = attempt
        self.redelivered = redelivered
        self.workerID = workerID
        timings = [:]
        trace = []
    }

    enum CodingKeys: String, CodingKey {
        case schema, status, grade, damages, reasons, error, fingerprint, attempt, redelivered
        case timings, trace, overlays
        case jobID = "job_id"
        case gradeRule = "grade_rule"
        case workerID = "worker_id"
    }

    /// Encodes every field, with null for an absent grade or error, so consumers see one shape.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(jobID, forKey: .jobID)
        try container.encode(status, forKey: .status)
        try container.encode(grade, forKey: .grade)
        try container.encode(gradeRule, forKey: .gradeRule)
        try container.encode(damages, forKey: .damages)
        try container.encode(reasons, forKey: .reasons)
        try container.encode(error, forKey: .error)
        try container.encode(fingerprint, forKey: .fingerprint)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(redelivered, forKey: .redelivered)
        try container.encode(workerID, forKey: .workerID)
        try container.encode(timings, forKey: .timings)
        try container.encode(trace, forKey: .trace)
        try container.encode(overlays, forKey: .overlays)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schema = try container.decode(String.self, forKey: .schema)
        jobID = try container.decode(String.self, forKey: .jobID)
        status = try container.decode(String.self, forKey: .status)
        grade = try container.decodeIfPresent(String.self, forKey: .grade)
        gradeRule = try container.decodeIfPresent(String.self, forKey: .gradeRule)
        damages = try container.decode([Damage].self, forKey: .damages)
        reasons = try container.decode([Reason].self, forKey: .reasons)
        error = try container.decodeIfPresent(Failure.self, forKey: .error)
        fingerprint = try container.decode(Fingerprint.self, forKey: .fingerprint)
        attempt = try container.decode(Int.self, forKey: .attempt)
        redelivered = try container.decode(Bool.self, forKey: .redelivered)
        workerID = try container.decode(String.self, forKey: .workerID)
        timings = try container.decode([String: Double].self, forKey: .timings)
        trace = try container.decode([TraceEntry].self, forKey: .trace)
        overlays = try container.decodeIfPresent([Attachment].self, forKey: .overlays) ?? []
    }

    /// The result as JSON with sorted keys: one line, or indented when `pretty`.
    public func json(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            : [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain values cannot fail; a failure is a bug worth crashing on in tests.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses a result message.
    public static func parse(_ body: [UInt8]) throws -> GradingResult {
        try JSONDecoder().decode(GradingResult.self, from: Data(body))
    }
}
