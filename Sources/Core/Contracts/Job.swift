import Foundation

/// A grading job as kiosks publish it: schema `gradeline.job/1` (see docs/schema/job.schema.json).
public struct Job: Codable, Sendable, Hashable {
    public static let schemaID = "gradeline.job/1"
    /// The most UTF-8 bytes a `job_id` may have, so that it fits every AMQP short string
    /// (message and correlation ids) with room to spare.
    public static let maxIDBytes = 128
    /// The content types a job's images may have.
    public static let contentTypes = ["image/png"]

    /// One photo of one side of the phone.
    public struct Photo: Codable, Sendable, Hashable {
        public var side: Side
        public var contentType: String
        /// Base64 of the encoded image.
        public var data: String

        public init(side: Side, contentType: String, data: String) {
            self.side = side
            self.contentType = contentType
            self.data = data
        }

        enum CodingKeys: String, CodingKey {
            case side, data
            case contentType = "content_type"
        }
    }

    public var schema: String
    public var jobID: String
    public var kioskID: String
    /// RFC 3339, such as `2026-11-28T07:19:26Z`.
    public var submittedAt: String
    /// Free-form device info (model, storage, colour, ...).
    public var device: [String: JSONValue]?
    public var images: [Photo]

    public init(jobID: String, kioskID: String, submittedAt: String,
                device: [String: JSONValue]? = nil, images: [Photo]) {
        self.schema = Self.schemaID
        self.jobID = jobID
        self.kioskID = kioskID
        self.submittedAt = submittedAt
        self.device = device
        self.images = images
    }

    enum CodingKeys: String, CodingKey {
        case schema, device, images
        case jobID = "job_id"
        case kioskID = "kiosk_id"
        case submittedAt = "submitted_at"
    }
}

/// Why a job message could not become a Request. It names the field that was wrong.
public struct JobError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let notJSON = Code("job.not_json")
        public static let schemaViolation = Code("job.schema_violation")
        public static let badBase64 = Code("job.bad_base64")
        public static let noImages = Code("job.no_images")
        public static let unsupportedContentType = Code("job.unsupported_content_type")
        public static let tooLarge = Code("job.too_large")
    }

    public var code: Code
    /// The JSON path of the field at fault, such as `images[1].data`, or "" for the whole body.
    public var field: String
    public var reason: String

    public init(_ code: Code, field: String, _ reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    public var description: String { field.isEmpty ? reason : "\(field): \(reason)" }
}

extension Job {
    /// Parses and checks a job message body. Every problem names the field at fault.
    public static func parse(_ body: [UInt8], maxBytes: Int = 256 << 20) throws(JobError) -> Job {
        if body.count > maxBytes {
            throw JobError(.tooLarge, field: "", "the message has \(body.count) bytes; the limit is \(maxBytes)")
        }
        let job: Job
        do {
            job = try JSONDecoder().decode(Job.self, from: Data(body))
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch {
            throw JobError(.notJSON, field: "", "not a JSON job: \(error)")
        }
        try job.validate()
        return job
    }

    /// Checks what JSON decoding cannot: schema id, ids, timestamps, sides and content types.
    public func validate() throws(JobError) {
        guard schema == Self.schemaID else {
            throw JobError(.schemaViolation, field: "schema", "is '\(schema)'; this worker reads '\(Self.schemaID)'")
        }
        guard Self.isUsableID(jobID) else {
            throw JobError(.schemaViolation, field: "job_id",
                           "must be 1 to \(Self.maxIDBytes) UTF-8 bytes without control characters; it has \(jobID.utf8.count) bytes")
        }
        guard !kioskID.isEmpty else {
            throw JobError(.schemaViolation, field: "kiosk_id", "must not be empty")
        }
        guard Self.isRFC3339(submittedAt) else {
            throw JobError(.schemaViolation, field: "submitted_at",
                           "'\(submittedAt)' is not an RFC 3339 timestamp like 2026-11-28T07:19:26Z")
        }
        guard !images.isEmpty else {
            throw JobError(.noImages, field: "images", "the job has no images")
        }
        var seen: Set<Side> = []
        for (index, photo) in images.enumerated() {
            guard seen.insert(photo.side).inserted else {
                throw JobError(.schemaViolation, field: "images[\(index)].side",
                               "side '\(photo.side.rawValue)' appears twice")
            }
            guard Self.contentTypes.contains(photo.contentType) else {
                throw JobError(.unsupportedContentType, field: "images[\(index)].content_type",
                               "'\(photo.contentType)' is not supported; use one of \(Self.contentTypes.joined(separator: ", "))")
            }
        }
    }

    /// The Request this job starts, with each photo's bytes decoded from base64.
    public func request() throws(JobError) -> Request {
        var photos = Sided<EncodedImage>()
        for (index, photo) in images.enumerated() {
            guard let bytes = Base64.decode(photo.data) else {
                throw JobError(.badBase64, field: "images[\(index)].data",
                               "the \(photo.side.rawValue) image's data is not valid base64")
            }
            guard !bytes.isEmpty else {
                throw JobError(.noImages, field: "images[\(index)].data",
                               "the \(photo.side.rawValue) image is empty")
            }
            photos[photo.side] = EncodedImage(contentType: photo.contentType, bytes: bytes)
        }
        return Request(jobID: jobID, kioskID: kioskID, submittedAt: submittedAt, photos: photos,
                       device: device ?? [:])
    }

    /// True for an id a result can carry: 1 to `maxIDBytes` UTF-8 bytes, no control characters.
    public static func isUsableID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= maxIDBytes
            && !id.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    static func isRFC3339(_ text: String) -> Bool {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if formatter.date(from: text) != nil { return true }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) != nil
    }

    static func describe(_ error: DecodingError) -> JobError {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce("") { path, key in
                if let index = key.intValue { return "\(path)[\(index)]" }
                return path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)"
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return JobError(.schemaViolation, field: field, "is required but missing")
        case .typeMismatch(let type, let context):
            return JobError(.schemaViolation, field: path(context.codingPath),
                            "has the wrong type; expected \(Self.jsonName(type))")
        case .valueNotFound(let type, let context):
            return JobError(.schemaViolation, field: path(context.codingPath),
                            "is null; expected \(Self.jsonName(type))")
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            if context.codingPath.last?.stringValue == "side" {
                return JobError(.schemaViolation, field: field,
                                "is not a side; use one of \(Side.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if field.isEmpty {
                return JobError(.notJSON, field: "", "the body is not valid JSON")
            }
            return JobError(.schemaViolation, field: field, context.debugDescription)
        @unknown default:
            return JobError(.schemaViolation, field: "", "\(error)")
        }
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }
}
