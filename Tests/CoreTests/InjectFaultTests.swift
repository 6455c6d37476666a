import Testing
@testable import Core

@Suite("inject_fault: a value it does not know is a clear error, never a trap")
struct InjectFaultTests {
    func run(_ fault: String) -> Outcome {
        let config = try! Fixtures.config("""
            main: [p]
            pipelines:
              p:
                - inject_fault
            """)
        var request = Fixtures.request([(.front, [1])])
        request.device["inject_fault"] = .string(fault)
        return config.run(&request)
    }

    @Test("an empty or unknown fault fails the job naming the value and the known ones", arguments: ["", ":", "explode", "sleep"])
    func unknownFault(_ fault: String) {
        guard case .failed(let failure) = run(fault) else {
            Issue.record("not failed: \(run(fault))")
            return
        }
        #expect(failure.message.contains("unknown fault '\(fault)'"), "\(failure.message)")
        #expect(failure.message.contains("retriable_until:N"))
        #expect(!failure.retriable)
    }

    @Test("a known fault still does what it says")
    func knownFault() {
        guard case .failed(let failure) = run("retriable") else {
            Issue.record("not failed")
            return
        }
        #expect(failure.retriable)
    }
}
