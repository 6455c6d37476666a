/// Exception-data functions: each decides whether an input is fit to grade and says why not.
public enum Checker {
    /// Every Checker function, registered under its config name.
    public static let functions: [any PipelineFunction.Type] = [
        CheckSides.self,
        CheckSize.self,
        CheckExposure.self,
        CheckBlur.self,
        CheckDevice.self,
        CheckConfidence.self,
    ]
}
