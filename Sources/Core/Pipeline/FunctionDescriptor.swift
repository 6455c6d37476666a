/// The module a function belongs to, by its data-processing role (see DESIGN.md).
public enum FunctionModule: String, Codable, Sendable, CaseIterable {
    case processor, models, checker, service
}

/// A function's name in the config, its module and a one-line summary.
public struct FunctionDescriptor: Sendable {
    /// The name that `config/pipeline.yaml` uses, such as `resize`.
    public let name: String
    public let module: FunctionModule
    public let summary: String

    public init(name: String, module: FunctionModule, summary: String) {
        self.name = name
        self.module = module
        self.summary = summary
    }
}
