import Testing
@testable import Core

/// The function that docs/pipeline.md's "Adding a function" shows, kept here so the example compiles.
struct Invert: PipelineFunction {
    static let descriptor = FunctionDescriptor(
        name: "invert", module: .processor, summary: "Inverts each side's image.")

    let input: ArtifactKey<Sided<Image>>
    let output: ArtifactKey<Sided<Image>>
    let strength: Double

    init(configuring step: inout StepBuilder) {
        input = step.input("image", Sided<Image>.self, default: "image")
        output = step.output("image", Sided<Image>.self, default: "inverted")
        strength = step.params.double("strength", default: 1, in: 0...1)
    }

    func run(_ request: inout Request) throws -> StepStatus {
        request[output] = try request.require(input).map { side, image in
            var image = image
            image.pixels = image.pixels.map { UInt8(Double($0) + strength * (255 - 2 * Double($0))) }
            return image
        }
        return .ok
    }
}

@Suite("Registering a new function")
struct RegistryTests {
    @Test("a function registered and listed in the config runs, and its output is traced")
    func newFunctionRuns() throws {
        var registry = Registry.standard
        registry.register(Invert.self)
        let config = try PipelineConfig.parse(yaml: """
            main: [p]
            pipelines:
              p:
                - decode_image
                - invert
            """, file: "test.yaml", registry: registry)
        var request = Fixtures.request([(.front, Fixtures.gradientPNG(width: 4, height: 4))])
        #expect(config.run(&request) == .graded)
        let original = try #require(request[ArtifactKey<Sided<Image>>("image")]?[.front])
        let inverted = try #require(request[ArtifactKey<Sided<Image>>("inverted")]?[.front])
        #expect(inverted.pixels == original.pixels.map { 255 - $0 })
        #expect(request.trace[1].params["strength"] == .double(1))
        #expect(request.trace[1].outputs.first?.artifact == "inverted")
    }

    @Test("the standard registry holds every module's functions under unique names")
    func standardRegistry() {
        let names = Registry.standard.names
        #expect(Set(names).count == names.count)
        #expect(names.contains("decode_image") && names.contains("normalize"))
        #expect(Registry.standard.descriptors.allSatisfy { !$0.summary.isEmpty })
    }

    @Test("a function that forgets to write its output fails the step clearly")
    func missingOutput() throws {
        struct Forgetful: PipelineFunction {
            static let descriptor = FunctionDescriptor(name: "forgetful", module: .service, summary: "Writes nothing.")
            init(configuring step: inout StepBuilder) {
                _ = step.output("grade", Grade.self, default: "grade")
            }
            func run(_ request: inout Request) throws -> StepStatus { .ok }
        }
        var registry = Registry.standard
        registry.register(Forgetful.self)
        let config = try PipelineConfig.parse(yaml: "main: [p]\npipelines:\n  p: [forgetful]\n",
                                              file: "t.yaml", registry: registry)
        var request = Fixtures.request([(.front, Fixtures.gradientPNG())])
        guard case .failed(let failure) = config.run(&request) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.code == "pipeline.missing_output")
        #expect(failure.message == "forgetful did not write its output 'grade'")
    }
}
