/// A value that a pipeline function writes into the Request and later functions read.
public protocol Artifact: Sendable {
    /// How errors and the trace name this type: `image per side`, `tensor`, ...
    static var typeName: String { get }
    /// One summary per stored value (one per side for per-side artifacts).
    func summarize(level: TraceLevel) -> [OutputSummary]
}

/// A value that is stored once per side, inside `Sided`.
public protocol SideArtifact: Sendable {
    static var typeName: String { get }
    func summarize(level: TraceLevel) -> OutputSummary
}

extension Sided: Artifact where Value: SideArtifact {
    public static var typeName: String { "\(Value.typeName) per side" }

    public func summarize(level: TraceLevel) -> [OutputSummary] {
        entries.map { entry in
            var summary = entry.value.summarize(level: level)
            summary.side = entry.side
            return summary
        }
    }
}

/// A typed name under which a Request stores one artifact.
///
/// Functions get their keys from `StepBuilder` at config load, so that a step's `in:` and
/// `out:` can rename them and the validator can check every read against earlier writes.
public struct ArtifactKey<Value: Artifact>: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) { self.name = name }

    public var description: String { "'\(name)' (\(Value.typeName))" }
}

extension ArtifactKey where Value == Sided<EncodedImage> {
    /// The job's photos, as the Request starts with them.
    public static let photos = ArtifactKey("photos")
}
