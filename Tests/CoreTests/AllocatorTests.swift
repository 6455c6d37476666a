import Foundation
import Testing
@testable import Core

@Suite("The allocator keeps a job's buffers for the next job")
struct AllocatorTests {
    /// RUSAGE_THREAD (1 in Linux's resource.h), which Glibc's module leaves out with the other
    /// GNU extensions: the counts of the calling thread alone, not of the tests running beside.
    static let thread = __rusage_who_t(1)

    /// Minor page faults of this thread while `body` runs.
    func faults(_ body: () -> Void) -> Int {
        var usage = rusage()
        getrusage(Self.thread, &usage)
        let before = usage.ru_minflt
        body()
        getrusage(Self.thread, &usage)
        return usage.ru_minflt - before
    }

    /// A buffer of a decoded photo's size, written through and freed, as a job does.
    func job() {
        let bytes = 12 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        memset(buffer, 1, bytes)
        buffer.deallocate()
    }

    @Test("after keepJobBuffers, a freed 12 MB buffer's pages serve the next one without faulting in again")
    func reuse() {
        #expect(Allocator.keepJobBuffers())
        let first = faults(job)
        let second = faults(job), third = faults(job)
        // 12 MB is 3,072 pages: a buffer mapped fresh faults on each of them. Without the
        // settings every one of the three faults all of its pages (measured alone: 3,074, 3,072,
        // 3,072). With them, one of the two later buffers must reuse the first's pages: a test
        // running beside this one in the same malloc arena may take the freed pages for one of
        // them (seen once with max instead of min). The settings hold for the whole test
        // process, which is what a pipeline process does.
        #expect(min(second, third) < 300, "faults: \(first), \(second), \(third)")
    }
}
