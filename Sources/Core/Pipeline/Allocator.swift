#if os(Linux)
import CMalloc
#endif

/// The C allocator, set for a process that grades job after job.
public enum Allocator {
    /// A job allocates the same large buffers as the last one (decoded photos, tensors, masks;
    /// up to about 12 MB each). glibc maps buffers above its threshold fresh from the kernel
    /// and unmaps them when freed, and trims the heap's free top (its self-adjusting
    /// thresholds did not keep a pipeline's buffers), so every job faulted its buffers' pages
    /// in again: about 3,800 page faults per two-sided job. With
    /// buffers up to 32 MiB taken from the heap and up to 64 MiB of free heap kept, a job
    /// reuses the last one's pages: about 1,000 faults, for about 11 MB more resident memory
    /// (measured with `perf stat -e page-faults` and `/usr/bin/time -f %M` on
    /// `gradeline-worker grade`, ten jobs, sample-sized photos; with larger photos a process
    /// keeps up to 64 MiB of free heap between jobs). Returns false when the allocator refused
    /// either setting (or is not glibc's); the process works the same, only slower.
    @discardableResult
    public static func keepJobBuffers() -> Bool {
        #if os(Linux)
        let mapped = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1
        let trimmed = mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1
        return mapped && trimmed
        #else
        return false
        #endif
    }
}
