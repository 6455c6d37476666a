/// Why a Checker found an input unfit: a final answer for the kiosk, not a failure.
public struct Reason: Codable, Sendable, Hashable {
    /// A stable code such as `too_dark` or `missing_side`.
    public var code: String
    public var side: Side?
    /// What was measured and the threshold, for a person.
    public var detail: String

    public init(code: String, side: Side?, detail: String) {
        self.code = code
        self.side = side
        self.detail = detail
    }
}

extension Reason {
    /// A measured value as the details show it: at most three decimals.
    static func number(_ value: Double) -> String {
        String((value * 1000).rounded() / 1000)
    }
}

/// Why a job could not be graded.
public struct Failure: Codable, Sendable, Hashable, Error {
    /// Where it failed: `pipeline/function`, or `job` before any pipeline ran.
    public var stage: String
    /// A stable code such as `image.corrupt`.
    public var code: String
    public var message: String
    /// True when the same job may succeed later (a resource, a timeout, the broker).
    public var retriable: Bool

    public init(stage: String, code: String, message: String, retriable: Bool) {
        self.stage = stage
        self.code = code
        self.message = message
        self.retriable = retriable
    }
}

/// The end of one job's run through the pipelines.
public enum Outcome: Sendable, Hashable {
    /// Every pipeline ran; the grade and damages are in the Request.
    case graded
    /// A Checker found the input unfit.
    case rejected([Reason])
    case failed(Failure)

    /// `graded`, `rejected` or `failed`, as the result's `status` says it.
    public var status: String {
        switch self {
        case .graded: "graded"
        case .rejected: "rejected"
        case .failed: "failed"
        }
    }
}
