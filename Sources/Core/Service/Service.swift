/// Business-rule functions: a mask becomes damages, zones and a grade.
public enum Service {
    /// Every Service function, registered under its config name.
    public static let functions: [any PipelineFunction.Type] = [FindDamages.self, GradeFunction.self, Overlay.self]
}
