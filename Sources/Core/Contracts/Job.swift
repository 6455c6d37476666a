import Foundation

/// A grading job as kiosks publish it: schema `gradeline.job/1` (see docs/schema/job.schema.json).
public struct Job: Codable, Sendable, Hashable {
    public static let schemaID = "gradeline.job/1"
    /// The content types a job's images may have.
    public static let contentTypes = ["image/png", "image/jpeg"]

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
        /// Arrays and objects nest deeper than `StrictJSON.defaultMaxDepth`.
        public static let tooDeep = Code("job.too_deep")
        /// A compressed body (gzip): the worker reads uncompressed JSON only.
        public static let compressed = Code("job.compressed")
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
    /// `job_id` and `kiosk_id` are at most this many UTF-8 bytes. A job id travels as the AMQP
    /// `message_id` and `correlation_id` (short strings of at most 255 bytes) and in headers.
    public static let maxIDBytes = 128
    /// The fields of a job, in the schema's order; nothing else is accepted at the top level.
    public static let fields = ["schema", "job_id", "kiosk_id", "submitted_at", "device", "images"]
    /// The fields of one image.
    public static let imageFields = ["side", "content_type", "data"]

    /// Parses and checks a job message body. Every problem names the field at fault.
    ///
    /// The body must be one uncompressed JSON object with no duplicate keys, nesting at most
    /// `StrictJSON.defaultMaxDepth` levels, and only the fields of docs/schema/job.schema.json.
    public static func parse(_ body: [UInt8], maxBytes: Int = 256 << 20) throws(JobError) -> Job {
        if body.count > maxBytes {
            throw JobError(.tooLarge, field: "", "the message has \(body.count) bytes; the limit is \(maxBytes)")
        }
        if body.starts(with: [0x1F, 0x8B]) {
            throw JobError(.compressed, field: "",
                           "the body is gzip-compressed; compressed bodies are not supported; publish the JSON uncompressed")
        }
        let json: JSONValue
        do {
            json = try StrictJSON.parse(body)
        } catch {
            let code: JobError.Code = switch error.kind {
            case .syntax: .notJSON
            case .tooDeep: .tooDeep
            case .duplicateKey, .numberOutOfRange: .schemaViolation
            }
            throw JobError(code, field: error.path, error.reason)
        }
        let job = try Job(json: json)
        try job.validate()
        return job
    }

    /// The job in `json`, with each field's presence and type checked against the schema.
    init(json: JSONValue) throws(JobError) {
        guard case .object(let fields) = json else {
            throw JobError(.schemaViolation, field: "", "the job must be a JSON object, not \(Self.kind(of: json))")
        }
        try Self.refuseUnknown(fields, allowed: Self.fields, path: "", what: "a job (\(Self.schemaID))")
        schema = try Self.string(fields, "schema")
        jobID = try Self.string(fields, "job_id")
        kioskID = try Self.string(fields, "kiosk_id")
        submittedAt = try Self.string(fields, "submitted_at")
        switch fields["device"] {
        case nil: device = nil
        case .object(let info): device = info
        case let other?: throw JobError(.schemaViolation, field: "device", "is \(Self.kind(of: other)); expected an object")
        }
        guard let images = fields["images"] else {
            throw JobError(.schemaViolation, field: "images", "is required but missing")
        }
        guard case .array(let list) = images else {
            throw JobError(.schemaViolation, field: "images", "is \(Self.kind(of: images)); expected a list")
        }
        var photos: [Photo] = []
        for (index, element) in list.enumerated() {
            let path = "images[\(index)]"
            guard case .object(let image) = element else {
                throw JobError(.schemaViolation, field: path, "is \(Self.kind(of: element)); expected an object")
            }
            try Self.refuseUnknown(image, allowed: Self.imageFields, path: path, what: "an image")
            let sideName = try Self.string(image, "side", path: path)
            guard let side = Side(rawValue: sideName) else {
                throw JobError(.schemaViolation, field: "\(path).side",
                               "'\(Echo.clip(sideName))' is not a side; use one of \(Side.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            photos.append(Photo(side: side, contentType: try Self.string(image, "content_type", path: path),
                                data: try Self.string(image, "data", path: path)))
        }
        self.images = photos
    }

    private static func refuseUnknown(_ fields: [String: JSONValue], allowed: [String], path: String,
                                      what: String) throws(JobError) {
        guard let unknown = fields.keys.filter({ !allowed.contains($0) }).sorted().first else { return }
        let name = Echo.clip(unknown, maxBytes: 64)
        throw JobError(.schemaViolation, field: path.isEmpty ? name : "\(path).\(name)",
                       "is not a field of \(what); the fields are \(allowed.joined(separator: ", "))")
    }

    private static func string(_ fields: [String: JSONValue], _ key: String, path: String = "") throws(JobError) -> String {
        let field = path.isEmpty ? key : "\(path).\(key)"
        switch fields[key] {
        case nil: throw JobError(.schemaViolation, field: field, "is required but missing")
        case .string(let text)?: return text
        case let other?: throw JobError(.schemaViolation, field: field, "is \(kind(of: other)); expected a string")
        }
    }

    /// "an array", "null", ... for messages about a value of the wrong type.
    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "true or false"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// True when `id` can be a `job_id` or `kiosk_id`: 1 to `maxIDBytes` UTF-8 bytes.
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= maxIDBytes
    }

    /// Checks what the structure cannot: schema id, id lengths, timestamps, sides and content types.
    public func validate() throws(JobError) {
        guard schema == Self.schemaID else {
            throw JobError(.schemaViolation, field: "schema", "is '\(Echo.clip(schema))'; this worker reads '\(Self.schemaID)'")
        }
        guard Self.isValidID(jobID) else {
            throw JobError(.schemaViolation, field: "job_id",
                           "must be 1 to \(Self.maxIDBytes) bytes of UTF-8; it has \(jobID.utf8.count)")
        }
        guard Self.isValidID(kioskID) else {
            throw JobError(.schemaViolation, field: "kiosk_id",
                           "must be 1 to \(Self.maxIDBytes) bytes of UTF-8; it has \(kioskID.utf8.count)")
        }
        guard RFC3339.isValid(submittedAt) else {
            throw JobError(.schemaViolation, field: "submitted_at",
                           "'\(Echo.clip(submittedAt))' is not an RFC 3339 date-time of a real instant, like 2026-11-28T07:19:26Z")
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
                               "'\(Echo.clip(photo.contentType))' is not supported; use one of \(Self.contentTypes.joined(separator: ", "))")
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
}

extension Failure {
    /// The failure of a job that is wrong before any pipeline runs: stage `job`, never retriable.
    public init(job error: JobError) {
        self.init(stage: "job", code: error.code.rawValue, message: error.description, retriable: false)
    }
}
