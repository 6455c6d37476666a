/// What a step's run ended with, short of an error.
public enum StepStatus: Sendable, Hashable {
    case ok
    /// The input is unfit: a final answer, not a failure. Only Checker functions say this.
    case rejected([Reason])
}
