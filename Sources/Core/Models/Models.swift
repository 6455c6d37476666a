/// Model loading and inference functions. The damage model arrives with the model issue.
public enum Models {
    /// Every Models function, registered under its config name.
    public static let functions: [any PipelineFunction.Type] = []
}
