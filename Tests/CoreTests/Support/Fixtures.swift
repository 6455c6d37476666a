import Foundation
import Testing
@testable import Core

enum Fixtures {
    /// A PNG of a smooth RGB gradient, `width` x `height`.
    static func gradientPNG(width: Int = 40, height: Int = 60) -> [UInt8] {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8(x * 255 / max(1, width - 1)), UInt8(y * 255 / max(1, height - 1)), 128]
            }
        }
        return try! PNG.encode(Image(width: width, height: height, format: .rgb8, pixels: pixels))
    }

    /// A Request with the given photos, all of one content type.
    static func request(_ photos: [(Side, [UInt8])], jobID: String = "job-1",
                        contentType: String = "image/png") -> Request {
        Request(jobID: jobID, kioskID: "kiosk-7", submittedAt: "2026-11-28T07:00:00Z",
                photos: Sided(photos.map { ($0.0, EncodedImage(contentType: contentType, bytes: $0.1)) }))
    }

    /// The folder of the JPEG fixtures that experiment/make_jpeg_fixtures.py writes.
    static let jpegFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/jpeg")

    /// The bytes of Tests/Fixtures/jpeg/NAME.jpg.
    static func jpeg(_ name: String) throws -> [UInt8] {
        let path = jpegFolder.appendingPathComponent("\(name).jpg").path
        return [UInt8](try #require(FileManager.default.contents(atPath: path), "no fixture \(path)"))
    }

    /// Loads a config from YAML text, failing the test with its errors when it does not load.
    static func config(_ yaml: String) throws -> PipelineConfig {
        try PipelineConfig.parse(yaml: yaml, file: "test.yaml")
    }

    /// The messages of a config that must fail to load.
    static func problems(_ yaml: String) -> [String] {
        do {
            _ = try PipelineConfig.parse(yaml: yaml, file: "test.yaml")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    /// The messages of a config load that must fail.
    static func problemsIn(_ load: () throws -> PipelineConfig) -> [String] {
        do {
            _ = try load()
            return []
        } catch let error as ConfigError {
            return error.issues.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    static let basicYAML = """
        main: [decode, preprocess]
        pipelines:
          decode:
            - decode_image
          preprocess:
            - resize: {width: 8, height: 16}
            - to_tensor
            - normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
        """
}
