import Testing
@testable import Core

@Suite("Post-processing and located damages")
struct PostprocessTests {
    static let classes = ["background", "body", "screen", "crack", "scratch", "chip"]

    /// A 20x30 phone: background border of 1, body, a screen block, a crack on the screen, a
    /// chip at the left edge and a speck of scratch too small to count.
    static func phone() -> Mask {
        let (width, height) = (20, 30)
        var labels = [UInt8](repeating: 0, count: width * height)
        for y in 1..<29 { for x in 1..<19 { labels[y * width + x] = 1 } }          // body
        for y in 4..<24 { for x in 4..<16 { labels[y * width + x] = 2 } }          // screen
        for y in 8..<14 { for x in 6..<10 { labels[y * width + x] = 3 } }          // crack: 24 px
        for y in 26..<28 { for x in 1..<4 { labels[y * width + x] = 5 } }          // chip: 6 px
        labels[25 * width + 10] = 4                                                // scratch: 1 px
        return Mask(width: width, height: height, labels: labels, classes: classes)
    }

    func run(_ mask: Mask, side: Side = .front, params: String = "{min_area_px: 2, edge_px: 2}") throws -> [Damage] {
        let config = try PipelineConfig.parse(yaml: """
            main: [p]
            pipelines:
              p:
                - find_damages: \(params)
            """, file: "t.yaml", provided: ["photo_mask": Sided<Mask>.self])
        var request = Fixtures.request([])
        request[ArtifactKey<Sided<Mask>>("photo_mask")] = Sided([(side, mask)])
        #expect(config.run(&request) == .graded)
        return try request.require(.damages).items
    }

    @Test("components become damages with their box, area and zone; specks are dropped")
    func damages() throws {
        let damages = try run(Self.phone())
        #expect(damages.count == 2)
        let crack = try #require(damages.first { $0.type == "crack" })
        #expect(crack.zone == "screen")
        #expect(crack.bbox == BoundingBox(x: 6, y: 8, width: 4, height: 6))
        #expect(crack.areaPixels == 24)
        #expect(crack.zoneRatio == 24.0 / 240.0)  // the screen's rows span 12 x 20 = 240 pixels
        #expect(crack.severity == "severe")
        let chip = try #require(damages.first { $0.type == "chip" })
        #expect(chip.zone == "corner")  // in the edge band, within 15% of the box's corner
        #expect(chip.bbox == BoundingBox(x: 1, y: 26, width: 3, height: 2))
        #expect(damages.allSatisfy { $0.side == .front })
    }

    @Test("a damage in the edge band away from the corners is on the edge")
    func edge() throws {
        var mask = Self.phone()
        for y in 13..<16 { mask.labels[y * mask.width + 1] = 5 }  // a chip on the left side, mid-height
        let damages = try run(mask)
        #expect(damages.contains { $0.type == "chip" && $0.zone == "edge" && $0.bbox == BoundingBox(x: 1, y: 13, width: 1, height: 3) })
    }

    @Test("a back has no screen zone unless screen_sides names it: a crack where the model saw glass is on the body")
    func screenSides() throws {
        let back = try run(Self.phone(), side: .back)
        #expect(back.first { $0.type == "crack" }?.zone == "body")
        #expect(back.allSatisfy { $0.side == .back })
        let named = try run(Self.phone(), side: .back, params: "{min_area_px: 2, edge_px: 2, screen_sides: [front, back]}")
        #expect(named.first { $0.type == "crack" }?.zone == "screen")
        let none = try run(Self.phone(), params: "{min_area_px: 2, edge_px: 2, screen_sides: []}")
        #expect(none.first { $0.type == "crack" }?.zone == "body")
    }

    @Test("screen_sides names only sides")
    func screenSidesChecked() throws {
        #expect {
            try PipelineConfig.parse(yaml: """
                main: [p]
                pipelines:
                  p:
                    - find_damages: {screen_sides: [front, rear]}
                """, file: "t.yaml", provided: ["photo_mask": Sided<Mask>.self])
        } throws: { "\($0)".contains("screen_sides") && "\($0)".contains("'rear' is not a side") }
    }

    @Test("min_area_px_by_type gives a damage type its own smallest area; the others keep min_area_px")
    func minAreaByType() throws {
        // The crack is 24 px, the chip 6 and the scratch 1.
        let types = { (params: String) in try self.run(Self.phone(), params: params).map(\.type).sorted() }
        #expect(try types("{min_area_px: 1, edge_px: 2}") == ["chip", "crack", "scratch"])
        #expect(try types("{min_area_px: 1, edge_px: 2, min_area_px_by_type: {crack: 25}}") == ["chip", "scratch"])
        #expect(try types("{min_area_px: 1, edge_px: 2, min_area_px_by_type: {crack: 24, chip: 7}}") == ["crack", "scratch"])
        #expect(try types("{min_area_px: 30, edge_px: 2, min_area_px_by_type: {scratch: 1}}") == ["scratch"])
    }

    @Test("min_area_px_by_type is a mapping of damage classes to areas", arguments: [
        ("{crak: 600}", "'crak' is not one of damage_classes"),
        ("[600]", "must be a mapping of names to integers from 1 to 1000000, not a list of 1"),
        ("{crack: 0}", "'crack' must be one of integers from 1 to 1000000, not '0'"),
        ("{crack: 600.5}", "'crack' must be one of integers from 1 to 1000000, not '600.5'"),
        ("{crack: big}", "'crack' must be one of integers from 1 to 1000000, not 'big'"),
        ("{crack: {a: 1}}", "'crack' must be one of integers from 1 to 1000000, not a mapping"),
        ("{[a]: 1}", "a name must be text, not a list of 1"),
    ])
    func minAreaByTypeChecked(value: String, message: String) {
        expectRefused("min_area_px_by_type: \(value)", "min_area_px_by_type", message)
    }

    /// Expects `find_damages: {damage_classes: [crack, scratch], <params>}` to be refused with a
    /// message holding every one of `messages`.
    func expectRefused(_ params: String, _ messages: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) {
            try PipelineConfig.parse(yaml: """
                main: [p]
                pipelines:
                  p:
                    - find_damages: {damage_classes: [crack, scratch], \(params)}
                """, file: "t.yaml", provided: ["photo_mask": Sided<Mask>.self])
        } throws: { error in messages.allSatisfy { "\(error)".contains($0) } }
    }

    /// The phone with a 30 px stretch of scratch on rows 14 to 16 touching the crack (24 px) from
    /// below, and a separate 12 px scratch on rows 19 and 20.
    static func crackWithScratchStretch() -> Mask {
        var mask = phone()
        for y in 14..<17 { for x in 5..<15 { mask.labels[y * mask.width + x] = 4 } }
        for y in 19..<21 { for x in 6..<12 { mask.labels[y * mask.width + x] = 4 } }
        return mask
    }

    @Test("merge_types makes touching crack and scratch pixels one damage, of the type with the most weighted pixels")
    func mergeTypes() throws {
        let mask = Self.crackWithScratchStretch()
        let summary = { (params: String) in
            try self.run(mask, params: params).map { "\($0.type) \($0.areaPixels)" }
        }
        // Apart: the crack, both scratches, the chip (the 1 px speck is below min_area_px).
        #expect(try summary("{min_area_px: 2, edge_px: 2}") == ["crack 24", "scratch 30", "scratch 12", "chip 6"])
        // Together: 30 scratch pixels outweigh 24 crack pixels; the separate scratch stays apart.
        #expect(try summary("{min_area_px: 2, edge_px: 2, merge_types: [crack, scratch]}") == ["scratch 54", "scratch 12", "chip 6"])
        let merged = try #require(try run(mask, params: "{min_area_px: 2, edge_px: 2, merge_types: [crack, scratch]}").first)
        #expect(merged.bbox == BoundingBox(x: 5, y: 8, width: 10, height: 9))
        #expect(merged.zone == "screen")
        // A crack pixel counting twice: 48 against 30.
        #expect(try summary("{min_area_px: 2, edge_px: 2, merge_types: [crack, scratch], merge_weights: {crack: 2}}")
                == ["crack 54", "scratch 12", "chip 6"])
        // 5 x 24 = 4 x 30: a tie goes to the type listed first.
        #expect(try summary("{min_area_px: 2, edge_px: 2, merge_types: [crack, scratch], merge_weights: {crack: 5, scratch: 4}}")
                == ["crack 54", "scratch 12", "chip 6"])
        #expect(try summary("{min_area_px: 2, edge_px: 2, merge_types: [scratch, crack], merge_weights: {crack: 5, scratch: 4}}")
                == ["scratch 54", "scratch 12", "chip 6"])
        // The smallest area is the chosen type's, over all the damage's pixels.
        #expect(try summary("{min_area_px: 2, edge_px: 2, merge_types: [crack, scratch], min_area_px_by_type: {scratch: 55}}")
                == ["chip 6"])
        #expect(try summary("{min_area_px: 2, edge_px: 2, merge_types: [crack, scratch], min_area_px_by_type: {scratch: 54, crack: 100}}")
                == ["scratch 54", "chip 6"])
        // One type alone merges nothing.
        #expect(try summary("{min_area_px: 2, edge_px: 2, merge_types: [crack]}") == ["crack 24", "scratch 30", "scratch 12", "chip 6"])
    }

    @Test("merging follows the model's class names, not their order, and skips a merge type the model lacks")
    func mergeOnAnotherModel() throws {
        // A model of another shape: its classes in another order, with no chip and no scratch
        // in the second mask. The labels are the same pixels as crackWithScratchStretch's.
        let usual = Self.crackWithScratchStretch()
        let reordered = ["scratch", "screen", "background", "crack", "body"]
        let relabel: [UInt8] = [2, 4, 1, 3, 0, 2]  // background, body, screen, crack, scratch; chip becomes background
        let other = Mask(width: usual.width, height: usual.height, labels: usual.labels.map { relabel[Int($0)] },
                         classes: reordered)
        let params = "{min_area_px: 2, edge_px: 2, merge_types: [crack, scratch]}"
        let merged = try run(other, params: params).map { "\($0.type) \($0.areaPixels)" }
        #expect(merged == ["scratch 54", "scratch 12"])
        let noScratch = Mask(width: usual.width, height: usual.height,
                             labels: usual.labels.map { $0 == 4 ? 2 : $0 == 5 ? 4 : $0 },
                             classes: ["background", "body", "screen", "crack", "chip"])
        #expect(try run(noScratch, params: params).map { "\($0.type) \($0.areaPixels)" } == ["crack 24", "chip 6"])
    }

    @Test("merge_types names damage classes once each; merge_weights maps merge_types to weights", arguments: [
        ("merge_types: [crak, scratch]", "param 'merge_types': 'crak' is not one of damage_classes (crack, scratch)"),
        ("merge_types: [crack, scratch, crack]", "param 'merge_types': 'crack' is named twice"),
        ("merge_types: crack", "merge_types"),
        ("merge_types: [crack, scratch], merge_weights: {chip: 2}", "param 'merge_weights': 'chip' is not one of merge_types (crack, scratch)"),
        ("merge_weights: {crack: 2}", "param 'merge_weights': 'crack' is not one of merge_types (none)"),
        ("merge_types: [crack, scratch], merge_weights: {crack: 0}", "'crack' must be one of integers from 1 to 1000, not '0'"),
        ("merge_types: [crack, scratch], merge_weights: {crack: 1001}", "'crack' must be one of integers from 1 to 1000, not '1001'"),
        ("merge_types: [crack, scratch], merge_weights: [2]", "merge_weights"),
    ])
    func mergeTypesChecked(params: String, message: String) {
        expectRefused(params, message)
    }

    /// The phone with a 2-row crack line of 10 pixels on rows 18 and 19 (elongation sqrt(33),
    /// 5.745) apart from the crack block (elongation 1.53), and a 3 px scratch on row 2.
    static func crackLine() -> Mask {
        var mask = phone()
        for y in 18..<20 { for x in 5..<15 { mask.labels[y * mask.width + x] = 3 } }
        for x in 5..<8 { mask.labels[2 * mask.width + x] = 4 }
        return mask
    }

    @Test("retype_elongated reports a crack spread beyond elongation_limit as a scratch, with a scratch's smallest area, in its place among the scratches")
    func retypeElongated() throws {
        let summary = { (params: String) in
            try self.run(Self.crackLine(), params: params).map { "\($0.type) \($0.areaPixels)" }
        }
        #expect(try summary("{min_area_px: 2, edge_px: 2}") == ["crack 24", "crack 20", "scratch 3", "chip 6"])
        // 5.745 is above 5 but not above the default of 7; the block (1.53) stays a crack.
        #expect(try summary("{min_area_px: 2, edge_px: 2, retype_elongated: {crack: scratch}}")
                == ["crack 24", "crack 20", "scratch 3", "chip 6"])
        #expect(try summary("{min_area_px: 2, edge_px: 2, retype_elongated: {crack: scratch}, elongation_limit: 5}")
                == ["crack 24", "scratch 3", "scratch 20", "chip 6"])
        // The scratch's smallest area applies to it now, and only to it.
        #expect(try summary("{min_area_px: 2, edge_px: 2, retype_elongated: {crack: scratch}, elongation_limit: 5, "
                            + "min_area_px_by_type: {scratch: 21}}") == ["crack 24", "chip 6"])
        // A limit without a retype changes nothing.
        #expect(try summary("{min_area_px: 2, edge_px: 2, elongation_limit: 1}") == ["crack 24", "crack 20", "scratch 3", "chip 6"])
        // After a merge: the block and the line joined by 4 scratch pixels are one crack of 48 px,
        // elongated only 2.1 times.
        var joined = Self.crackLine()
        for y in 14..<18 { joined.labels[y * joined.width + 8] = 4 }
        let merged = try run(joined, params: "{min_area_px: 2, edge_px: 2, merge_types: [crack, scratch], merge_weights: {crack: 2}, "
                             + "retype_elongated: {crack: scratch}, elongation_limit: 5}")
        #expect(merged.map { "\($0.type) \($0.areaPixels)" } == ["crack 48", "scratch 3", "chip 6"])
    }

    @Test("a model of another shape: its classes in another order and no scratch class; an elongated crack is still reported as a scratch")
    func retypeOnAnotherModel() throws {
        // crackLine's pixels under classes [crack, background, screen, body]; its 3 px scratch and
        // its chip become body, since this model has neither class.
        let usual = Self.crackLine()
        let relabel: [UInt8] = [1, 3, 2, 0, 3, 3]
        let other = Mask(width: usual.width, height: usual.height, labels: usual.labels.map { relabel[Int($0)] },
                         classes: ["crack", "background", "screen", "body"])
        let found = try run(other, params: "{min_area_px: 2, edge_px: 2, retype_elongated: {crack: scratch}, elongation_limit: 5}")
        #expect(found.map { "\($0.type) \($0.areaPixels)" } == ["crack 24", "scratch 20"])
    }

    @Test("retype_elongated maps damage classes to other damage classes; elongation_limit is a number from 1 to 1000", arguments: [
        ("retype_elongated: {crak: scratch}", "param 'retype_elongated': 'crak' is not one of damage_classes (crack, scratch)"),
        ("retype_elongated: {crack: glass}", "param 'retype_elongated': 'glass' is not one of damage_classes (crack, scratch)"),
        ("retype_elongated: {crack: crack}", "param 'retype_elongated': 'crack' is mapped to itself"),
        ("retype_elongated: {crack: [scratch]}", "'crack' must be one of text values, not a list of 1"),
        ("retype_elongated: {crack: scratch, crack: chip}", "'crack' appears twice in the same mapping"),
        ("retype_elongated: [crack]", "retype_elongated"),
        ("retype_elongated: {crack: scratch}, elongation_limit: 0.5", "elongation_limit"),
        ("retype_elongated: {crack: scratch}, elongation_limit: 1001", "elongation_limit"),
        ("retype_elongated: {crack: scratch}, elongation_limit: long", "elongation_limit"),
    ])
    func retypeElongatedChecked(params: String, message: String) {
        expectRefused(params, message)
    }

    @Test("damage_classes names each class once: a class named twice would report each of its damages twice")
    func damageClassesOnce() {
        #expect {
            try PipelineConfig.parse(yaml: """
                main: [p]
                pipelines:
                  p:
                    - find_damages: {damage_classes: [crack, scratch, crack]}
                """, file: "t.yaml", provided: ["photo_mask": Sided<Mask>.self])
        } throws: { error in "\(error)".contains("param 'damage_classes': 'crack' is named twice") }
    }

    @Test("the minimum area and severity thresholds are params")
    func thresholds() throws {
        let damages = try run(Self.phone(), params: "{min_area_px: 1, edge_px: 2, moderate_ratio: 0.5, severe_ratio: 0.9}")
        #expect(damages.count == 3)
        #expect(damages.allSatisfy { $0.severity == "minor" })
    }

    @Test("argmax picks the highest logit per pixel, per side")
    func argmax() throws {
        let config = try PipelineConfig.parse(yaml: """
            main: [p]
            pipelines:
              p:
                - argmax_mask: {classes: [a, b, c], in: {logits: scores}}
            """, file: "t.yaml", provided: ["scores": Tensor.self])
        var request = Fixtures.request([])
        // Two sides, 3 classes, 1x2 pixels: front picks c then a, back picks b twice.
        request[ArtifactKey<Tensor>("scores")] = Tensor(shape: [2, 3, 1, 2],
                                                        data: [0, 5, 1, 0, 9, 0, 1, 2, 7, 3, 0, 1],
                                                        sides: [.front, .back])
        #expect(config.run(&request) == .graded)
        let masks = try request.require(ArtifactKey<Sided<Mask>>("mask"))
        #expect(masks[.front]?.labels == [2, 0])
        #expect(masks[.back]?.labels == [1, 1])
    }

    @Test("resize_mask brings each side's mask to its photo's size by nearest")
    func resizeMask() {
        let mask = Mask(width: 2, height: 1, labels: [1, 2], classes: ["x", "y", "z"])
        #expect(ResizeMask.resize(mask, width: 5, height: 2).labels == [1, 1, 2, 2, 2, 1, 1, 2, 2, 2])
    }
}

@Suite("Overlay")
struct OverlayTests {
    /// find_damages then overlay on the test phone at 10x (so that labels fit beside the
    /// boxes), over a flat grey photo: the request after the run, and the photo.
    static func run(attach: Bool, level: TraceLevel = .summary) throws -> (Request, Image) {
        let mask = ResizeMask.resize(PostprocessTests.phone(), width: 200, height: 300)
        let photo = Image(width: mask.width, height: mask.height, format: .rgb8, filledWith: 100)
        let config = try PipelineConfig.parse(yaml: """
            main: [p]
            pipelines:
              p:
                - find_damages: {min_area_px: 200, edge_px: 2}
                - overlay: {attach: \(attach)}
            """, file: "t.yaml", provided: ["photo_mask": Sided<Mask>.self, "image": Sided<Image>.self])
        var request = Fixtures.request([])
        request[ArtifactKey<Sided<Mask>>("photo_mask")] = Sided([(.front, mask)])
        request[ArtifactKey<Sided<Image>>("image")] = Sided([(.front, photo)])
        #expect(config.run(&request, level: level) == .graded)
        return (request, photo)
    }

    @Test("the overlay outlines each damage in its type's colour and attaches PNGs when asked")
    func overlay() throws {
        let (request, photo) = try Self.run(attach: true)
        let overlay = try #require(request[ArtifactKey<Sided<Image>>("overlay")]?[.front])
        #expect(overlay.width == photo.width && overlay.height == photo.height)
        // The crack's box starts at (60, 80): its left side is red.
        #expect([overlay[60, 100, 0], overlay[60, 100, 1], overlay[60, 100, 2]] == [255, 0, 0])
        // A body pixel away from damage and labels is tinted green: (100 * 3 + 200) / 4 = 125 in G.
        #expect(overlay[170, 250, 1] == 125)
        let result = GradingResult(request: request, outcome: .graded, fingerprint: Fingerprint(config: "x", workerVersion: "t"),
                                   workerID: "w")
        let attached = try #require(result.overlays.first)
        #expect(attached.side == .front && attached.contentType == "image/png")
        #expect(try PNG.decode(try #require(Base64.decode(attached.data))).pixels == overlay.pixels)
    }

    @Test("an overlay nobody sees is skipped: not attached and a summary trace; drawn for a full trace",
          arguments: [TraceLevel.summary, .full])
    func overlaySkipped(level: TraceLevel) throws {
        let (request, _) = try Self.run(attach: false, level: level)
        let entry = try #require(request.trace.last)
        #expect(entry.function == "overlay" && entry.status == .ok)
        let drawn = request[ArtifactKey<Sided<Image>>("overlay")]?[.front]
        if level == .full {
            #expect(drawn != nil && entry.outputs.count == 1 && entry.outputs.first?.encoded != nil)
        } else {
            #expect(drawn == nil && entry.outputs.isEmpty)
        }
    }
}
