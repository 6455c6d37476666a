import Core

/// Limits small enough that the fuzzer spends its time on odd files, not on decoding large
/// valid ones; the limit checks themselves are the same code at any size.
let limits = ImageLimits(maxWidth: 4096, maxHeight: 4096, maxPixels: 4_000_000, maxBytes: 4 << 20)

/// libFuzzer's entry: any bytes through `JPEG.header` and `JPEG.decode` (libjpeg-turbo, the
/// marker walk, the EXIF reader and the orientation) end in a value or a `CodecError`, never a
/// crash, a leak, a huge allocation or a long stall.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJPEGDecode(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let header = try? JPEG.header(bytes)
    if let image = try? JPEG.decode(bytes, limits: limits) {
        precondition(image.pixels.count == image.width * image.height * 3, "pixel count")
        precondition(header?.width == image.width && header?.height == image.height, "header size")
    }
    return 0
}
