/// `overlay`: draws each side's zones, damage outlines and labels over its photo, for the
/// kiosk's screen.
///
/// Zones are tinted (screen blue, edge yellow, corner orange, body green), each damage gets a rectangle in its
/// type's colour (crack red, scratch orange, chip magenta) with its type and zone written above
/// it. With `attach: true` the overlays also go into the result, as PNGs, under `overlays`.
/// Nobody sees an overlay that is neither attached nor in a `full` trace, so then the step
/// skips its work (it was an eighth of a job's non-model CPU) and the trace shows it ok with no
/// outputs.
public struct Overlay: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "overlay", module: .service,
        summary: "Draws zones, damage outlines and labels over each photo; optionally attaches them to the result.")

    let photos: ArtifactKey<Sided<Image>>
    let zones: ArtifactKey<Sided<Mask>>
    let damages: ArtifactKey<Damages>
    let output: ArtifactKey<Sided<Image>>
    let attach: Bool

    public init(configuring step: inout StepBuilder) {
        photos = step.input("image", Sided<Image>.self, default: "image")
        zones = step.input("zones", Sided<Mask>.self, default: "zones")
        damages = step.input("damages", Damages.self, default: "damages")
        output = step.output("overlay", Sided<Image>.self, default: "overlay")
        attach = step.params.bool("attach", default: false)
    }

    static let zoneTints: [FindDamages.Zone: (Int, Int, Int)] = [.screen: (40, 90, 255), .edge: (255, 220, 0),
                                                                 .corner: (255, 120, 0), .body: (0, 200, 80)]
    static let typeColours: [String: (UInt8, UInt8, UInt8)] = ["crack": (255, 0, 0), "scratch": (255, 140, 0), "chip": (255, 0, 255)]

    /// Each zone's tint, indexed by `Zone.rawValue`; nil leaves the pixel alone.
    static let tintTable: [(Int, Int, Int)?] = (0...Int(UInt8.max)).map { raw in
        FindDamages.Zone(rawValue: UInt8(raw)).flatMap { zoneTints[$0] }
    }

    /// Blends a quarter of each pixel's zone tint into it.
    static func tint(_ image: inout Image, zones: [UInt8]) {
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            for (i, zone) in zones.enumerated() {
                guard let tint = tintTable[Int(zone)] else { continue }
                pixels[i * 3] = UInt8((Int(pixels[i * 3]) * 3 + tint.0) / 4)
                pixels[i * 3 + 1] = UInt8((Int(pixels[i * 3 + 1]) * 3 + tint.1) / 4)
                pixels[i * 3 + 2] = UInt8((Int(pixels[i * 3 + 2]) * 3 + tint.2) / 4)
            }
        }
    }

    public func run(_ request: inout Request) throws -> StepStatus {
        guard attach || request.traceLevel == .full else { return .skipped }
        let allDamages = try request.require(damages).items
        let zoneSet = try request.require(zones)
        let drawn = try request.require(photos).map { side, photo -> Image in
            var image = photo
            // The zones find_damages drew, so that the picture and the damages agree.
            if let zoneMask = zoneSet[side], zoneMask.width == photo.width, zoneMask.height == photo.height {
                Self.tint(&image, zones: zoneMask.labels)
            }
            for damage in allDamages where damage.side == side {
                let colour = Self.typeColours[damage.type] ?? (255, 255, 255)
                Canvas.rectangle(&image, damage.bbox, colour: colour, thickness: 3)
                Canvas.text(&image, "\(damage.type) \(damage.zone)".uppercased(), x: damage.bbox.x,
                            y: max(0, damage.bbox.y - 18), scale: 2, colour: colour)
            }
            return image
        }
        request[output] = drawn
        if attach {
            request[.overlays] = try drawn.map { side, image in
                do {
                    return EncodedImage(contentType: "image/png", bytes: try PNG.encode(image, compressionLevel: 3))
                } catch {
                    throw PipelineError(.internalError, "cannot encode the overlay: \(error)", side: side)
                }
            }
        }
        return .ok
    }
}

extension ArtifactKey where Value == Sided<EncodedImage> {
    /// Overlays the result carries, when the overlay step attaches them.
    public static let overlays = ArtifactKey("result_overlays")
}

/// Rectangles and a small bitmap font, enough to label an overlay.
enum Canvas {
    static func rectangle(_ image: inout Image, _ box: BoundingBox, colour: (UInt8, UInt8, UInt8), thickness: Int) {
        for t in 0..<thickness {
            let (x0, y0, x1, y1) = (box.x - t, box.y - t, box.x + box.width - 1 + t, box.y + box.height - 1 + t)
            for x in x0...x1 { set(&image, x, y0, colour); set(&image, x, y1, colour) }
            for y in y0...y1 { set(&image, x0, y, colour); set(&image, x1, y, colour) }
        }
    }

    static func set(_ image: inout Image, _ x: Int, _ y: Int, _ colour: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < image.width, y < image.height, image.format == .rgb8 else { return }
        let i = (y * image.width + x) * 3
        image.pixels[i] = colour.0
        image.pixels[i + 1] = colour.1
        image.pixels[i + 2] = colour.2
    }

    /// Writes capital letters and spaces in a 5x7 font, each pixel `scale` wide.
    static func text(_ image: inout Image, _ string: String, x: Int, y: Int, scale: Int, colour: (UInt8, UInt8, UInt8)) {
        var cursor = x
        for character in string {
            if let rows = glyphs[character] {
                for (row, bits) in rows.enumerated() {
                    for column in 0..<5 where bits & (1 << (4 - column)) != 0 {
                        for dy in 0..<scale { for dx in 0..<scale { set(&image, cursor + column * scale + dx, y + row * scale + dy, colour) } }
                    }
                }
            }
            cursor += 6 * scale
        }
    }

    /// The letters the labels use, row by row, five bits a row.
    static let glyphs: [Character: [UInt8]] = [
        "A": [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "B": [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], "D": [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "N": [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
        "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11], "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04], "Y": [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
    ]
}
