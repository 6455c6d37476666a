import Testing
@testable import Core

@Suite("Processor functions against hand-computed values")
struct ProcessorTests {
    /// A one-row gray image.
    func row(_ values: [UInt8]) -> Image {
        Image(width: values.count, height: 1, format: .gray8, pixels: values)
    }

    @Test("bilinear upscaling uses half-pixel centres and clamps at the edges")
    func bilinearUpscale() {
        // Output x maps to (x + 0.5) / 2 - 0.5: -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
        let out = Resize.resize(row([0, 100]), width: 4, height: 1, filter: .bilinear)
        #expect(out.pixels == [0, 25, 75, 100])
    }

    @Test("bilinear blends both axes and rounds half up")
    func bilinearBothAxes() {
        // 2x2 -> 3x3: source coordinates are -1/6, 0.5, 7/6 on each axis -> 0 (clamped), 0.5, 1 (clamped).
        let image = Image(width: 2, height: 2, format: .gray8, pixels: [10, 20, 30, 41])
        let out = Resize.resize(image, width: 3, height: 3, filter: .bilinear)
        // Centre: (10 + 20 + 30 + 41) / 4 = 25.25 -> 25; top middle: 15; middle right: (20 + 41) / 2 = 30.5 -> 31.
        #expect(out.pixels == [10, 15, 20, 20, 25, 31, 30, 36, 41])
    }

    @Test("bilinear downscaling by 2 averages each pair")
    func bilinearDownscale() {
        // Output x maps to 2x + 0.5: the midpoint of source pixels 2x and 2x + 1.
        let out = Resize.resize(row([0, 10, 20, 30, 40, 51]), width: 3, height: 1, filter: .bilinear)
        #expect(out.pixels == [5, 25, 46])  // 45.5 rounds half up
    }

    @Test("nearest takes the source pixel under each output centre")
    func nearest() {
        // Shrinking 5 -> 2: centres at 1.25 and 3.75 -> pixels 1 and 3.
        #expect(Resize.resize(row([0, 1, 2, 3, 4]), width: 2, height: 1, filter: .nearest).pixels == [1, 3])
        // Growing 2 -> 5: centres at 0.2, 0.6, 1.0, 1.4, 1.8 -> 0, 0, 1, 1, 1.
        #expect(Resize.resize(row([7, 9]), width: 5, height: 1, filter: .nearest).pixels == [7, 7, 9, 9, 9])
    }

    @Test("area averages the span each output pixel covers, weighted by overlap")
    func area() {
        let source = row((0..<12).map { UInt8($0 * 10) })
        // 12 -> 4: each output averages three whole pixels, (0 + 10 + 20) / 3 = 10, ...
        #expect(Resize.resize(source, width: 4, height: 1, filter: .area).pixels == [10, 40, 70, 100])
        // 12 -> 5: spans of 2.4; the first is (0 + 10 + 0.4 x 20) / 2.4 = 7.5 -> 8 (half up).
        #expect(Resize.resize(source, width: 5, height: 1, filter: .area).pixels == [8, 31, 55, 79, 103])
        // Both axes: a 2x2 average.
        let square = Image(width: 2, height: 2, format: .gray8, pixels: [10, 20, 30, 41])
        #expect(Resize.resize(square, width: 1, height: 1, filter: .area).pixels == [25])
    }

    @Test("resize keeps RGB channels apart")
    func resizeRGB() {
        let image = Image(width: 2, height: 1, format: .rgb8, pixels: [0, 100, 200, 100, 200, 0])
        let out = Resize.resize(image, width: 4, height: 1, filter: .bilinear)
        #expect(out.pixels == [0, 100, 200, 25, 125, 150, 75, 175, 50, 100, 200, 0])
    }

    @Test("normalize computes (x - mean[c]) / std[c] per channel")
    func normalize() {
        var tensor = Tensor(shape: [1, 2, 1, 2], data: [0.5, 1.0, 0.0, 0.25])
        Normalize.normalize(&tensor, mean: [0.5, 0.25], std: [0.25, 0.5])
        #expect(tensor.data == [0, 2, -0.5, 0])
    }

    @Test("to_tensor lays out NCHW with one batch entry per side, scaled")
    func toTensor() {
        let front = Image(width: 2, height: 1, format: .rgb8, pixels: [255, 0, 51, 0, 102, 255])
        let back = Image(width: 2, height: 1, format: .rgb8, filledWith: 0)
        let tensor = ToTensor.tensor(Sided([(.back, back), (.front, front)]), scale: 1 / 255)
        #expect(tensor.shape == [2, 3, 1, 2])
        #expect(tensor.sides == [.front, .back])  // side order, whatever the insertion order
        let expected: [Float] = [1, 0, 0, 0.4, 0.2, 1]  // R plane, G plane, B plane of the front
        #expect(zip(tensor.data[0..<6], expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(tensor.data[0..<6])")
        #expect(tensor.data[6...].allSatisfy { $0 == 0 })
    }

    @Test("grayscale is the BT.601 luma in integers")
    func grayscale() {
        let image = Image(width: 3, height: 1, format: .rgb8, pixels: [255, 0, 0, 0, 255, 0, 10, 20, 30])
        // 299 * 255 / 1000 = 76.2 -> 76; 587 * 255 / 1000 = 149.7 -> 150; (2990 + 11740 + 3420) / 1000 = 18.15 -> 18.
        #expect(Grayscale.gray(image).pixels == [76, 150, 18])
    }

    @Test("crop cuts the given box")
    func crop() {
        let image = Image(width: 3, height: 3, format: .gray8, pixels: Array(0..<9))
        #expect(Crop.crop(image, x: 1, y: 1, width: 2, height: 2).pixels == [4, 5, 7, 8])
    }
}
