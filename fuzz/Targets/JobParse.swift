import Core

/// libFuzzer's entry: any bytes through `Job.parse` and `Job.request` end in a job or a
/// `JobError`, never a crash, a leak or a long stall. Only the public API is called, so the
/// target keeps working while the parser's rules change.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobParse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let job = try? Job.parse(bytes, maxBytes: 1 << 20) else { return 0 }
    _ = try? job.request()
    return 0
}
