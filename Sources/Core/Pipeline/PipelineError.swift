/// An error that a pipeline function throws while it runs a job.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A function read an artifact that is not in the Request.
        public static let missingArtifact = Code("pipeline.missing_artifact")
        /// A function did not write an output it declared.
        public static let missingOutput = Code("pipeline.missing_output")
        /// The input cannot be processed as it is (wrong sizes, a crop outside the image).
        public static let invalidInput = Code("pipeline.invalid_input")
        /// An image could not be decoded.
        public static let imageCorrupt = Code("image.corrupt")
        /// An image is over the configured limits.
        public static let imageTooLarge = Code("image.too_large")
        /// An image's content type has no decoder.
        public static let unsupportedContentType = Code("image.unsupported_content_type")
        /// An image's bytes are not of the content type the job gives for it.
        public static let contentTypeMismatch = Code("image.content_type_mismatch")
        /// Memory or another resource ran out; the job may succeed later.
        public static let resourceExhausted = Code("resource.exhausted")
        /// A bug in a function: it should never happen.
        public static let internalError = Code("internal")
    }

    public var code: Code
    /// What was wrong, for a person.
    public var reason: String
    public var side: Side?
    public var isRetriable: Bool
    /// Where the error was thrown, for developers.
    public var file: String
    public var line: Int

    public init(_ code: Code, _ reason: String, side: Side? = nil, retriable: Bool = false,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.side = side
        self.isRetriable = retriable
        self.file = file
        self.line = line
    }

    public var description: String {
        if let side { return "\(side) image: \(reason)" }
        return reason
    }
}
