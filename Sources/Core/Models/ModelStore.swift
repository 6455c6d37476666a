import Foundation
import Inference
import Synchronization

/// A model named in the pipeline config, loaded and checked against its SHA-256.
public struct LoadedModel: Sendable {
    public let name: String
    public let file: String
    public let sha256: String
    /// The graph input that the `segment` function feeds, and the output it reads.
    public let input: String
    public let output: String
    public let threads: Int
    public let model: InferenceModel
}

/// Loads each model file once per process, however many configs or jobs use it.
public enum ModelStore {
    private static let cache = Mutex<[String: InferenceModel]>([:])

    /// Reads `path`, checks its SHA-256, and returns the shared loaded model.
    public static func load(path: String, expectedSHA256: String?) throws -> (InferenceModel, String) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelStoreError("cannot read the model file '\(path)'")
        }
        let digest = data.withUnsafeBytes { SHA256.hex($0) }
        if let expectedSHA256, expectedSHA256.lowercased() != digest {
            throw ModelStoreError("'\(path)' has SHA-256 \(digest), but the config expects \(expectedSHA256); update the config if the model changed on purpose")
        }
        let key = "\(path)#\(digest)"
        if let model = cache.withLock({ $0[key] }) { return (model, digest) }
        let model: InferenceModel
        do {
            model = try InferenceModel(data: data, file: path)
        } catch {
            throw ModelStoreError("\(path): \(error)")
        }
        cache.withLock { $0[key] = model }
        return (model, digest)
    }
}

struct ModelStoreError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
