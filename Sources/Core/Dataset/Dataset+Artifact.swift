extension Image: SideArtifact {
    public static var typeName: String { "image" }

    public func summarize(level: TraceLevel) -> OutputSummary {
        let stats = Statistics.of(pixels)
        var encoded: EncodedArtifact?
        if level == .full, let png = try? PNG.encode(self, compressionLevel: 1) {
            encoded = EncodedArtifact(contentType: "image/png", bytes: png)
        }
        return OutputSummary(kind: "image", shape: [height, width, channels], dtype: "uint8",
                             min: stats.min, max: stats.max, mean: stats.mean,
                             sha256: SHA256.hex(pixels), encoded: encoded)
    }
}

extension EncodedImage: SideArtifact {
    public static var typeName: String { "encoded image" }

    public func summarize(level: TraceLevel) -> OutputSummary {
        // The encoded input is already in the job; the trace does not repeat it.
        OutputSummary(kind: "encoded_image", shape: [bytes.count], dtype: contentType,
                      sha256: SHA256.hex(bytes))
    }
}

extension Mask: SideArtifact {
    public static var typeName: String { "mask" }

    public func summarize(level: TraceLevel) -> OutputSummary {
        let stats = Statistics.of(labels)
        var encoded: EncodedArtifact?
        if level == .full,
           let png = try? PNG.encode(Image(width: width, height: height, format: .gray8, pixels: labels),
                                     compressionLevel: 1) {
            encoded = EncodedArtifact(contentType: "image/png", bytes: png)
        }
        return OutputSummary(kind: "mask", shape: [height, width], dtype: "uint8",
                             min: stats.min, max: stats.max, mean: stats.mean,
                             sha256: SHA256.hex(labels), encoded: encoded)
    }
}

extension Tensor: Artifact {
    public static var typeName: String { "tensor" }

    public func summarize(level: TraceLevel) -> [OutputSummary] {
        let stats = Statistics.of(data)
        return [OutputSummary(kind: "tensor", shape: shape, dtype: "float32",
                              min: stats.min, max: stats.max, mean: stats.mean,
                              nonfinite: stats.nonfinite, sha256: SHA256.hex(data))]
    }
}

extension Grade: Artifact {
    public static var typeName: String { "grade" }

    public func summarize(level: TraceLevel) -> [OutputSummary] {
        [OutputSummary(kind: "grade", shape: [], dtype: "text", sha256: SHA256.hex("\(value)|\(rule)"))]
    }
}

/// The located damages of a job, as an artifact.
public struct Damages: Artifact, Hashable {
    public var items: [Damage]

    public init(_ items: [Damage]) { self.items = items }

    public static var typeName: String { "damages" }

    public func summarize(level: TraceLevel) -> [OutputSummary] {
        let areas = items.map { Double($0.areaPixels) }
        return [OutputSummary(kind: "damages", shape: [items.count], dtype: "damage",
                              min: areas.min(), max: areas.max(),
                              mean: areas.isEmpty ? nil : areas.reduce(0, +) / Double(areas.count),
                              sha256: SHA256.hex(items.map { "\($0)" }.joined(separator: "\n")))]
    }
}

extension ArtifactKey where Value == Grade {
    /// Where the result looks for the grade.
    public static let grade = ArtifactKey("grade")
}

extension ArtifactKey where Value == Damages {
    /// Where the result looks for the located damages.
    public static let damages = ArtifactKey("damages")
}

extension ArtifactKey where Value == Sided<Mask> {
    /// Where `argmax_mask` and `resize_mask` leave each side's mask at its photo's size, by default.
    public static let photoMask = ArtifactKey("photo_mask")
}
