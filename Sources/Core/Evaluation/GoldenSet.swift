import Foundation

/// A held-out golden set: photos with what a person knows about them (`gradeline.golden/1`).
///
/// The folder holds `manifest.json` and one folder per case with its photos, label maps and
/// `truth.json`. experiment/evalset/README.md describes the format and the renderer that
/// made the committed set.
public struct GoldenSet: Sendable {
    public var directory: URL
    public var manifest: Manifest

    public struct Manifest: Codable, Sendable {
        public var schema: String
        public var renderer: String?
        public var command: String?
        /// Case ids, each a folder beside the manifest.
        public var cases: [String]
        /// A few cases for a quick gate, such as the test command's.
        public var gate: [String]?
    }

    /// Reads `manifest.json` in `directory`.
    public static func load(_ directory: String) throws(EvaluationError) -> GoldenSet {
        let url = URL(fileURLWithPath: directory)
        let manifest: Manifest = try readJSON(url.appendingPathComponent("manifest.json"))
        guard manifest.schema == "gradeline.golden/1" else {
            throw EvaluationError("\(directory)/manifest.json: schema is '\(manifest.schema)', expected gradeline.golden/1")
        }
        return GoldenSet(directory: url, manifest: manifest)
    }

    /// The cases named by `ids`, or all of them; an unknown id is an error that names it.
    public func cases(_ ids: [String]? = nil) throws(EvaluationError) -> [GoldenCase] {
        let wanted = ids ?? manifest.cases
        var cases: [GoldenCase] = []
        for id in wanted {
            guard manifest.cases.contains(id) else {
                throw EvaluationError("case '\(id)' is not in \(directory.path)/manifest.json")
            }
            let folder = directory.appendingPathComponent(id)
            let truth: GoldenTruth = try Self.readJSON(folder.appendingPathComponent("truth.json"))
            guard truth.id == id else {
                throw EvaluationError("\(folder.path)/truth.json: id is '\(truth.id)', expected '\(id)'")
            }
            cases.append(GoldenCase(directory: folder, truth: truth))
        }
        return cases
    }

    static func readJSON<Value: Decodable>(_ url: URL) throws(EvaluationError) -> Value {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw EvaluationError("cannot read \(url.path)")
        }
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch {
            throw EvaluationError("\(url.path): \(error)")
        }
    }
}

/// What a person knows about one golden case (`gradeline.golden-truth/1`).
public struct GoldenTruth: Codable, Sendable {
    public var id: String
    /// `phone` (a good photo pair to grade) or `must_reject`.
    public var kind: String
    /// File name per side.
    public var photos: [String: String]
    /// Label map file per side: 8-bit PNG, each pixel a class index of `GoldenTruth.classes`.
    public var labels: [String: String]?
    public var damages: [Damage]
    public var expected: Expected
    public var style: [String: JSONValue]?

    /// The label maps' class order.
    public static let classes = ["background", "body", "screen", "crack", "scratch", "chip"]

    public struct Damage: Codable, Sendable {
        public var side: Side
        public var type: String
        public var zone: String?
        public var bbox: BoundingBox
    }

    public struct Expected: Codable, Sendable {
        /// `graded` or `rejected`.
        public var status: String
        public var grade: String?
        /// The rejection code a must-reject case must get.
        public var code: String?
    }

    /// Whether the renderer drew this case in a style training never saw.
    public var heldOut: Bool {
        if case .bool(let value)? = style?["held_out"] { return value }
        return false
    }
}

/// One case of a golden set on disk.
public struct GoldenCase: Sendable {
    public var directory: URL
    public var truth: GoldenTruth

    /// The job the kiosk would have sent: one photo per side, in side order.
    public func job() throws -> Job {
        let files = try truth.photos.map { name, file throws(EvaluationError) in
            guard let side = Side(rawValue: name) else {
                throw EvaluationError("\(directory.path)/truth.json: photos has an unknown side '\(name)'")
            }
            return (side: side, path: directory.appendingPathComponent(file).path)
        }.sorted { $0.side < $1.side }
        return try Job.fromFiles(files, jobID: truth.id, kioskID: "golden")
    }

    /// The label map of `side`, or nil when the case has none.
    public func labels(_ side: Side) throws(EvaluationError) -> Mask? {
        guard let file = truth.labels?[side.rawValue] else { return nil }
        let path = directory.appendingPathComponent(file).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError("cannot read the label map \(path)")
        }
        let image: Image
        do {
            image = try PNG.decode([UInt8](data))
        } catch {
            throw EvaluationError("label map \(path): \(error)")
        }
        let channels = image.format.channels
        let labels = stride(from: 0, to: image.pixels.count, by: channels).map { image.pixels[$0] }
        guard labels.allSatisfy({ Int($0) < GoldenTruth.classes.count }) else {
            throw EvaluationError("label map \(path) has values past \(GoldenTruth.classes.count - 1)")
        }
        return Mask(width: image.width, height: image.height, labels: labels, classes: GoldenTruth.classes)
    }
}

/// A golden set or report that cannot be read, with the file and what was wrong.
public struct EvaluationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
