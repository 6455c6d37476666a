/// Model loading and inference functions.
public enum Models {
    /// Every Models function, registered under its config name.
    public static let functions: [any PipelineFunction.Type] = [Segment.self]
}
