import Testing
@testable import Core

@Suite("Pipeline config validation: every error names file, pipeline, step and what is wrong")
struct ConfigValidationTests {
    @Test("a valid config loads its pipelines and steps in order")
    func validConfigLoads() throws {
        let config = try Fixtures.config(Fixtures.basicYAML)
        #expect(config.main.map(\.name) == ["decode", "preprocess"])
        #expect(config.main[1].steps.map(\.descriptor.name) == ["resize", "to_tensor", "normalize"])
        #expect(config.main[1].steps[0].params["filter"] == .string("bilinear"))  // the default is recorded
    }

    @Test("the shipped config/pipeline.yaml is valid")
    func shippedConfigIsValid() throws {
        let config = try PipelineConfig.load(file: Self.repoPath("config/pipeline.yaml"))
        #expect(!config.main.isEmpty)
    }

    @Test("an unknown function is named with its place and the nearest name")
    func unknownFunction() {
        let problems = Fixtures.problems("""
            main: [decode]
            pipelines:
              decode:
                - decode_image
                - resise: {width: 2, height: 2}
            """)
        #expect(problems == ["test.yaml:5:7: pipeline 'decode', step 2: unknown function 'resise'; did you mean 'resize'?"])
    }

    @Test("an unknown param suggests the nearest param")
    func unknownParam() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_image: {max_pixel: 10}
            """)
        #expect(problems == ["test.yaml:4:22: pipeline 'p', step 1 (decode_image): unknown param 'max_pixel'; did you mean 'max_pixels'?"])
    }

    @Test("a missing required param says what it must be")
    func missingParam() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_image
                - resize: {width: 8}
            """)
        #expect(problems == ["test.yaml:5:7: pipeline 'p', step 2 (resize): missing param 'height' (an integer from 1 to 16384)"])
    }

    @Test("a param of the wrong type or out of range says what it must be")
    func wrongParam() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_image
                - resize: {width: wide, height: 0, filter: cubic}
            """)
        #expect(problems == [
            "test.yaml:5:23: pipeline 'p', step 2 (resize): param 'width' must be an integer from 1 to 16384, not 'wide'",
            "test.yaml:5:37: pipeline 'p', step 2 (resize): param 'height' must be an integer from 1 to 16384, not '0'",
            "test.yaml:5:48: pipeline 'p', step 2 (resize): param 'filter' must be one of 'nearest', 'bilinear', 'area', not 'cubic'",
        ])
    }

    @Test("params that contradict each other are named")
    func contradictoryParams() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_image
                - resize: {width: 2, height: 2}
                - to_tensor
                - normalize: {mean: [0.5, 0.5, 0.5], std: [1, 1]}
            """)
        #expect(problems == ["test.yaml:7:47: pipeline 'p', step 4 (normalize): param 'std': has 2 values but mean has 3; give one per channel"])
    }

    @Test("a min above its max is named at the param: check_exposure and check_size")
    func contradictoryMinMax() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_image
                - grayscale
                - check_exposure: {min_mean: 200, max_mean: 100}
                - check_size: {min_aspect: 3, max_aspect: 2}
            """)
        #expect(problems == [
            "test.yaml:6:34: pipeline 'p', step 3 (check_exposure): param 'min_mean': must not be above max_mean (100.0); every photo would be rejected",
            "test.yaml:7:32: pipeline 'p', step 4 (check_size): param 'min_aspect': must not be above max_aspect (2.0)",
        ])
    }

    @Test("a step that reads an artifact no earlier step writes is named, with the nearest artifact")
    func readsUnwrittenArtifact() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_image
                - to_tensor: {in: {image: imgae}}
            """)
        #expect(problems == ["test.yaml:5:7: pipeline 'p', step 2 (to_tensor): reads artifact 'imgae' (image per side), which no earlier step writes; did you mean 'image'?"])
    }

    @Test("a step that runs before the writer of its input is caught across pipelines")
    func readBeforeWrite() {
        let problems = Fixtures.problems("""
            main: [late, early]
            pipelines:
              early:
                - decode_image
              late:
                - grayscale
            """)
        #expect(problems == ["test.yaml:6:7: pipeline 'late', step 1 (grayscale): reads artifact 'image' (image per side), which no earlier step writes"])
    }

    @Test("reading an artifact as the wrong type says who wrote it as what")
    func wrongArtifactType() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_image
                - normalize: {mean: [0], std: [1], in: {tensor: image}}
            """)
        #expect(problems == ["test.yaml:5:7: pipeline 'p', step 2 (normalize): reads artifact 'image' as tensor, but 'p' step 1 (decode_image) writes it as image per side"])
    }

    @Test("renaming a role the function does not have is an error")
    func unknownRole() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_image: {out: {img: x}}
            """)
        #expect(problems == ["test.yaml:4:28: pipeline 'p', step 1 (decode_image): 'out' names role 'img', but this function's outputs are 'image'; did you mean 'image'?"])
    }

    @Test("an empty pipeline is an error")
    func emptyPipeline() {
        #expect(Fixtures.problems("""
            main: [p]
            pipelines:
              p: []
            """) == ["test.yaml:3:3: pipeline 'p' is empty; give it at least one step"])
        #expect(Fixtures.problems("""
            main: [p]
            pipelines:
              p:
            """) == ["test.yaml:3:3: pipeline 'p' is empty; give it at least one step"])
    }

    @Test("a pipeline defined twice is an error")
    func duplicatePipeline() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_image
              p:
                - decode_image
            """)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("'p' appears twice") == true, "\(problems)")
    }

    @Test("a pipeline listed twice in main, or missing, or unlisted, is an error")
    func mainMistakes() {
        let problems = Fixtures.problems("""
            main: [decode, decode, preprocss]
            pipelines:
              decode:
                - decode_image
              preprocess:
                - grayscale
            """)
        #expect(problems == [
            "test.yaml:1:16: main lists pipeline 'decode' twice; each pipeline runs once",
            "test.yaml:1:24: main lists pipeline 'preprocss', which 'pipelines:' does not define; did you mean 'preprocess'?",
            "test.yaml:5:3: pipeline 'preprocess' is defined but 'main:' does not list it; list it or remove it",
        ])
    }

    @Test("unknown sections, missing sections and bad YAML are errors")
    func structuralMistakes() {
        #expect(Fixtures.problems("mian: [p]\npipelines: {}\n").contains(
            "test.yaml:1:1: unknown section 'mian'; a config has 'main', 'pipelines' and optionally 'models', 'parity' and 'canaries'; did you mean 'main'?"))
        #expect(Fixtures.problems("main: [p]\n") == [
            "test.yaml:1:1: missing section 'pipelines:', which defines each pipeline's steps",
            "test.yaml:1:8: main lists pipeline 'p', which 'pipelines:' does not define",
        ])
        #expect(Fixtures.problems("main: [p\n")[0].hasPrefix("test.yaml:2:1: not valid YAML"))
    }

    @Test("every problem in a file is reported at once, in line order")
    func reportsEverything() {
        let problems = Fixtures.problems("""
            main: [p]
            pipelines:
              p:
                - decode_imag
                - resize: {width: 0, height: 2}
            """)
        #expect(problems.count == 3)
        #expect(problems[0].contains("unknown function 'decode_imag'"))
        #expect(problems[1].contains("reads artifact 'image'"))
        #expect(problems[2].contains("param 'width'"))
    }

    @Test("the fingerprint ignores layout and comments but not params")
    func fingerprint() throws {
        let base = try Fixtures.config(Fixtures.basicYAML)
        let reformatted = try Fixtures.config("""
            # the same config, written differently
            pipelines:
              preprocess: [{resize: {height: 16, width: 8, filter: bilinear}}, to_tensor,
                           {normalize: {std: [0.25, 0.25, 0.25], mean: [0.5, 0.5, 0.5]}}]
              decode: [decode_image]
            main: [decode, preprocess]
            """)
        let changed = try Fixtures.config(Fixtures.basicYAML.replacingOccurrences(of: "width: 8", with: "width: 9"))
        #expect(base.sha256 == reformatted.sha256)
        #expect(base.sha256 != changed.sha256)
        #expect(base.sha256.count == 64)
    }

    /// A path inside the repository, found from this file's location.
    static func repoPath(_ relative: String, file: String = #filePath) -> String {
        var url = file.split(separator: "/").dropLast(3)  // Tests/CoreTests/<file>
        url.append(contentsOf: relative.split(separator: "/"))
        return "/" + url.joined(separator: "/")
    }
}

import Foundation
