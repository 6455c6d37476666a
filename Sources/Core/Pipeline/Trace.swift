/// How much of each artifact the trace carries.
public enum TraceLevel: String, Sendable, Codable, CaseIterable {
    /// Kind, shape, dtype, min, max, mean and SHA-256 of each output.
    case summary
    /// The summary, plus each image and mask encoded as PNG.
    case full
}

/// What the trace says about one output of one step.
public struct OutputSummary: Codable, Sendable, Hashable {
    /// The artifact's name in the Request.
    public var artifact: String = ""
    public var side: Side?
    /// `image`, `tensor`, `mask`, `encoded_image`, ...
    public var kind: String
    public var shape: [Int]
    /// `uint8`, `float32`, `bytes`, ...
    public var dtype: String
    public var min: Double?
    public var max: Double?
    public var mean: Double?
    /// How many values were NaN or infinite (float outputs only); they are left out of the stats.
    public var nonfinite: Int?
    /// SHA-256 of the raw bytes (pixels, or float32 values little-endian).
    public var sha256: String
    /// The artifact itself, encoded, at trace level `full`.
    public var encoded: EncodedArtifact?

    public init(kind: String, shape: [Int], dtype: String, min: Double? = nil, max: Double? = nil,
                mean: Double? = nil, nonfinite: Int? = nil, sha256: String,
                encoded: EncodedArtifact? = nil) {
        self.kind = kind
        self.shape = shape
        self.dtype = dtype
        self.min = min
        self.max = max
        self.mean = mean
        self.nonfinite = nonfinite
        self.sha256 = sha256
        self.encoded = encoded
    }
}

/// An artifact carried inside the trace, such as a mask as PNG.
public struct EncodedArtifact: Codable, Sendable, Hashable {
    public var contentType: String
    /// Base64 of the encoded bytes.
    public var data: String

    public init(contentType: String, bytes: [UInt8]) {
        self.contentType = contentType
        self.data = Base64.encode(bytes)
    }

    enum CodingKeys: String, CodingKey {
        case contentType = "content_type"
        case data
    }
}

/// Whether a step finished, rejected the input, or failed.
public enum StepStatusCode: String, Codable, Sendable {
    case ok, rejected, failed
}

/// One function run, as the trace records it.
public struct TraceEntry: Codable, Sendable, Hashable {
    public var pipeline: String
    public var function: String
    public var module: FunctionModule
    /// Every param with the value used, defaults included, plus `in` and `out` artifact names.
    public var params: [String: JSONValue]
    public var durationMs: Double
    public var status: StepStatusCode
    public var outputs: [OutputSummary]
    public var reasons: [Reason]?
    public var error: Failure?

    enum CodingKeys: String, CodingKey {
        case pipeline, function, module, params, status, outputs, reasons, error
        case durationMs = "duration_ms"
    }
}
