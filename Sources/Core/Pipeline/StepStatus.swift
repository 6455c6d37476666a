/// What a step's run ended with, short of an error.
public enum StepStatus: Sendable, Hashable {
    case ok
    /// The input is unfit: a final answer, not a failure. Only Checker functions say this.
    case rejected([Reason])
    /// Nothing to do: the step's outputs are not wanted in this run (the overlay, when it is
    /// neither attached nor traced in full). The trace records the step as ok with no outputs.
    case skipped
}
