/// Why a model cannot be loaded or run. Load errors name the node and its op.
public struct InferenceError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The file is not a readable ONNX model.
        public static let malformedModel = Code("model.malformed")
        /// A node uses an op, attribute or data type the executor does not implement.
        public static let unsupported = Code("model.unsupported")
        /// Shapes do not fit together (found while planning for an input shape).
        public static let shapeMismatch = Code("model.shape_mismatch")
        /// The input given at run time does not match the model's input.
        public static let badInput = Code("model.bad_input")
    }

    public var code: Code
    public var reason: String
    /// The node at fault, as `'name' (OpType, node 12)`, when there is one.
    public var node: String?

    public init(_ code: Code, _ reason: String, node: String? = nil) {
        self.code = code
        self.reason = reason
        self.node = node
    }

    public var description: String {
        node.map { "node \($0): \(reason)" } ?? reason
    }
}
