/// A function that a pipeline step runs.
///
/// A function is built once, at config load, from its step in the config: the initializer
/// declares the artifacts it reads and writes and decodes its params through `StepBuilder`.
/// `run` is then called once per job, possibly from several jobs at once.
public protocol PipelineFunction: Sendable {
    static var descriptor: FunctionDescriptor { get }

    /// Declares inputs and outputs and reads params. Throw only for problems the builder's
    /// `params.reject` cannot express.
    init(configuring step: inout StepBuilder) throws

    /// Reads this function's inputs from the Request and writes its outputs.
    func run(_ request: inout Request) throws -> StepStatus
}

/// Every function that a config may name, by name.
public struct Registry: Sendable {
    private var types: [String: any PipelineFunction.Type] = [:]

    public init(_ functions: [any PipelineFunction.Type] = []) {
        for function in functions { register(function) }
    }

    /// Adds a function. Two functions with one name is a programming error.
    public mutating func register(_ function: any PipelineFunction.Type) {
        let name = function.descriptor.name
        precondition(types[name] == nil, "two pipeline functions are named '\(name)'")
        types[name] = function
    }

    /// Every function of every module that Core ships.
    public static let standard = Registry(
        Processor.functions + Models.functions + Checker.functions + Service.functions)

    public func function(named name: String) -> (any PipelineFunction.Type)? { types[name] }

    /// Every registered name, sorted.
    public var names: [String] { types.keys.sorted() }

    /// Every registered function's descriptor, sorted by name.
    public var descriptors: [FunctionDescriptor] { names.map { types[$0]!.descriptor } }
}
