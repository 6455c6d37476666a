/// `find_damages`: locates each damage in the photo-sized masks and assigns it a zone.
///
/// Damages are 8-connected components of each damage class, at least `min_area_px` pixels, or
/// the type's own smallest area in `min_area_px_by_type` (for example `{crack: 600}`).
/// Zones come from the model's own classes, not from fixed coordinates:
/// - **screen**: each row's span from its leftmost to its rightmost screen pixel, so that damage
///   on the screen (which the mask labels as damage, not screen) still counts as screen. Only on
///   the sides in `screen_sides` (default: the front); elsewhere screen pixels count as body, since
///   a glass back that the model calls screen in places must not make a back crack a screen crack;
/// - **edge**: the rest of the device within `edge_px` of the background (4-neighbour steps);
/// - **corner**: the part of the edge band near a corner of the device's bounding box (within
///   `corner_fraction` of the box's shorter side, on both axes);
/// - **body**: the rest of the device.
/// A damage takes the zone most of its pixels lie in; `zone_ratio` is its area over the zone's.
/// Severity: `severe` from `severe_ratio` of its zone, `moderate` from `moderate_ratio`, else `minor`.
///
/// The types in `merge_types` (for example `[crack, scratch]`) make one damage wherever their
/// pixels touch: the model often labels stretches of one crack as scratch, and each stretch would
/// otherwise be a damage of its own. The damage takes the type with the most pixels, each pixel
/// of a type counting `merge_weights[type]` times (default 1); a tie goes to the type listed first
/// in `merge_types`. Its area is all its pixels, and that type's smallest area applies.
///
/// A damage of a type in `retype_elongated` (for example `{crack: scratch}`) whose elongation is
/// above `elongation_limit` (default 7) is reported as the type it maps to, with that type's
/// smallest area, among that type's damages in first-pixel order. Elongation is how many times
/// further its pixels spread along their long axis than across it (`isElongated`): the model
/// labels long scratches, or stretches of them, crack, where a crack is a web or a short line.
public struct FindDamages: PipelineFunction {
    public static let descriptor = FunctionDescriptor(
        name: "find_damages", module: .service,
        summary: "Connected damage regions per side, with bbox, area, zone (screen, edge, body) and severity.")

    let input: ArtifactKey<Sided<Mask>>
    let output: ArtifactKey<Damages>
    /// Each pixel's zone, for the overlay: labels index `zoneClasses`.
    let zonesOutput: ArtifactKey<Sided<Mask>>
    let damageClasses: [String]
    let minArea: Int
    /// Per damage type, a smallest area other than `minArea`.
    let minAreaByType: [String: Int]
    let edgeWidth: Int
    let moderateRatio: Double
    let severeRatio: Double
    let cornerFraction: Double
    /// The sides that have a screen.
    let screenSides: Set<Side>
    /// Damage types whose touching pixels make one damage, and how much a pixel of each counts
    /// towards the damage's type.
    let mergeTypes: [String]
    let mergeWeights: [String: Int]
    /// Damage types reported as another when elongated beyond `elongationLimit`.
    let retypeElongated: [String: String]
    let elongationLimit: Double

    public init(configuring step: inout StepBuilder) {
        input = step.input("mask", Sided<Mask>.self, default: "photo_mask")
        output = step.output("damages", Damages.self, default: "damages")
        zonesOutput = step.output("zones", Sided<Mask>.self, default: "zones")
        damageClasses = step.params.strings("damage_classes", default: ["crack", "scratch", "chip"])
        Self.rejectRepeats(damageClasses, param: "damage_classes", &step)
        minArea = step.params.int("min_area_px", default: 30, in: 1...1_000_000)
        minAreaByType = step.params.intsByName("min_area_px_by_type", default: [:], in: 1...1_000_000)
        Self.requireKnown(minAreaByType.keys.sorted(), in: damageClasses, called: "damage_classes",
                          param: "min_area_px_by_type", &step)
        let merged = step.params.strings("merge_types", default: [])
        mergeTypes = merged
        if Self.requireKnown(merged, in: damageClasses, called: "damage_classes", param: "merge_types", &step) {
            Self.rejectRepeats(merged, param: "merge_types", &step)
        }
        mergeWeights = step.params.intsByName("merge_weights", default: [:], in: 1...1000)
        Self.requireKnown(mergeWeights.keys.sorted(), in: merged, called: "merge_types", param: "merge_weights",
                          orWhenEmpty: "none", &step)
        let retype = step.params.stringsByName("retype_elongated", default: [:])
        retypeElongated = retype
        if Self.requireKnown(retype.keys.sorted() + retype.values.sorted(), in: damageClasses,
                             called: "damage_classes", param: "retype_elongated", &step),
           let same = retype.keys.sorted().first(where: { retype[$0] == $0 }) {
            step.params.reject("retype_elongated", "'\(same)' is mapped to itself")
        }
        elongationLimit = step.params.double("elongation_limit", default: 7, in: 1...1000)
        edgeWidth = step.params.int("edge_px", default: 12, in: 0...1000)
        moderateRatio = step.params.double("moderate_ratio", default: 0.002, in: 0...1)
        severeRatio = step.params.double("severe_ratio", default: 0.01, in: 0...1)
        cornerFraction = step.params.double("corner_fraction", default: 0.15, in: 0...0.5)
        let sides = step.params.strings("screen_sides", default: [Side.front.rawValue])
        screenSides = Set(sides.compactMap(Side.init(rawValue:)))
        if let unknown = sides.first(where: { Side(rawValue: $0) == nil }) {
            step.params.reject("screen_sides", "'\(unknown)' is not a side; the sides are \(Side.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if moderateRatio > severeRatio {
            step.params.reject("moderate_ratio", "must not be above severe_ratio (\(severeRatio))")
        }
    }

    /// Rejects `param` when one of `names` is not in `list`, naming the first such name and the
    /// list (`list`'s name is `called`). Returns whether every name is known.
    @discardableResult
    static func requireKnown(_ names: [String], in list: [String], called: String, param: String,
                             orWhenEmpty empty: String = "", _ step: inout StepBuilder) -> Bool {
        guard let unknown = names.first(where: { !list.contains($0) }) else { return true }
        step.params.reject(param, "'\(unknown)' is not one of \(called) (\(list.isEmpty ? empty : list.joined(separator: ", ")))")
        return false
    }

    /// Rejects `param` when a name comes twice in `names`, naming the first such name.
    static func rejectRepeats(_ names: [String], param: String, _ step: inout StepBuilder) {
        if let twice = names.enumerated().first(where: { names[..<$0.offset].contains($0.element) })?.element {
            step.params.reject(param, "'\(twice)' is named twice")
        }
    }

    enum Zone: UInt8, CaseIterable { case none = 0, screen, edge, body, corner }
    static let zoneNames: [Zone: String] = [.screen: "screen", .edge: "edge", .body: "body", .corner: "corner"]
    /// The class names of the zones mask, indexed by `Zone.rawValue`.
    static let zoneClasses = ["none", "screen", "edge", "body", "corner"]

    public func run(_ request: inout Request) throws -> StepStatus {
        var found: [Damage] = []
        var zoneMasks = Sided<Mask>()
        for (side, mask) in try request.require(input).entries {
            guard let background = mask.classes.firstIndex(of: "background"),
                  let screen = mask.classes.firstIndex(of: "screen") else {
                throw PipelineError(.invalidInput, "the mask's classes \(mask.classes) lack 'background' or 'screen'", side: side)
            }
            let zones = Self.zones(mask, background: UInt8(background),
                                   screen: screenSides.contains(side) ? UInt8(screen) : nil, edgeWidth: edgeWidth,
                                   cornerFraction: cornerFraction)
            zoneMasks[side] = Mask(width: mask.width, height: mask.height, labels: zones, classes: Self.zoneClasses)
            // Per-pixel counts go into arrays indexed by Zone.rawValue: a dictionary here costs a
            // hash per pixel, which was a fifth of a job's non-model time.
            let zoneArea = Self.counts(of: zones)
            let labelled = damageClasses.compactMap { name in mask.classes.firstIndex(of: name).map { (name, UInt8($0)) } }
            let merging = mergeTypes.compactMap { name in
                mask.classes.firstIndex(of: name).map { (label: UInt8($0), weight: mergeWeights[name] ?? 1) }
            }
            let byLabel = Self.components(mask, labels: Set(labelled.map(\.1)), merging: merging)
            // Components by the type they are reported as.
            var byType: [String: [Component]] = [:]
            for (name, label) in labelled {
                for component in byLabel[label] ?? [] {
                    let type = retypeElongated[name].flatMap {
                        Self.isElongated(component.pixels, width: mask.width, limit: elongationLimit) ? $0 : nil
                    } ?? name
                    byType[type, default: []].append(component)
                }
            }
            for name in damageClasses {
                let smallest = minAreaByType[name] ?? minArea
                var components = byType[name] ?? []
                // A retyped damage takes its place among its new type's, by first pixel.
                if retypeElongated.values.contains(name) { components.sort { $0.pixels[0] < $1.pixels[0] } }
                for component in components where component.pixels.count >= smallest {
                    let votes = Self.counts(of: component.pixels.map { zones[$0] })
                    let zone = Self.winner(votes)
                    let ratio = Double(component.pixels.count) / Double(max(zoneArea[Int(zone.rawValue)], 1))
                    found.append(Damage(side: side, type: name, zone: Self.zoneNames[zone] ?? "body", bbox: component.box,
                                        areaPixels: component.pixels.count, zoneRatio: min(ratio, 1),
                                        severity: ratio >= severeRatio ? "severe" : ratio >= moderateRatio ? "moderate" : "minor"))
                }
            }
        }
        request[output] = Damages(found)
        request[zonesOutput] = zoneMasks
        return .ok
    }

    /// How many of `zones` fall in each zone, indexed by `Zone.rawValue`; unknown values count as body.
    static func counts(of zones: [UInt8]) -> [Int] {
        // Counted by byte value in four histograms (neighbouring pixels mostly share a zone, and one
        // counter would wait on its own last increment), then folded: an optional Zone per pixel
        // was 1% of a job.
        var byValue = [Int](repeating: 0, count: 4 * 256)
        byValue.withUnsafeMutableBufferPointer { byValue in
            zones.withUnsafeBufferPointer { zones in
                let whole = zones.count & ~3
                for i in stride(from: 0, to: whole, by: 4) {
                    byValue[Int(zones[i])] &+= 1
                    byValue[256 &+ Int(zones[i &+ 1])] &+= 1
                    byValue[512 &+ Int(zones[i &+ 2])] &+= 1
                    byValue[768 &+ Int(zones[i &+ 3])] &+= 1
                }
                for i in whole..<zones.count { byValue[Int(zones[i])] &+= 1 }
            }
        }
        var counts = [Int](repeating: 0, count: Zone.allCases.count)
        for value in 0..<256 {
            let count = byValue[value] + byValue[256 + value] + byValue[512 + value] + byValue[768 + value]
            guard count > 0 else { continue }
            counts[Int(Zone(rawValue: UInt8(value))?.rawValue ?? Zone.body.rawValue)] += count
        }
        return counts
    }

    /// The zone most votes lie in, `none` aside; on a tie, the zone with the lower raw value.
    /// Body when no pixel lies in any zone.
    static func winner(_ votes: [Int]) -> Zone {
        var best: Zone?
        for zone in Zone.allCases where zone != .none && votes[Int(zone.rawValue)] > 0 {
            if best.map({ votes[Int(zone.rawValue)] > votes[Int($0.rawValue)] }) ?? true { best = zone }
        }
        return best ?? .body
    }

    /// The zone of every pixel.
    static func zones(_ mask: Mask, background: UInt8, screen: UInt8?, edgeWidth: Int,
                      cornerFraction: Double = 0.15) -> [UInt8] {
        let (width, height) = (mask.width, mask.height)
        var zones = [UInt8](repeating: Zone.none.rawValue, count: width * height)
        guard width > 0, height > 0 else { return zones }
        // Distance to the background in 4-neighbour steps, capped at edgeWidth + 1 (at most 1001,
        // so UInt16 holds it and the adds below cannot overflow).
        let cap = UInt16(min(edgeWidth + 1, Int(UInt16.max) - 1))
        var distance = [UInt16](repeating: cap, count: width * height)
        mask.labels.withUnsafeBufferPointer { labels in
            distance.withUnsafeMutableBufferPointer { distance in
                // The device's bounding box, for the corners: each row's first and last device pixel.
                var (minX, minY, maxX, maxY) = (width, height, -1, -1)
                for y in 0..<height {
                    let (first, last) = span(labels, row: y &* width, width: width) { $0 != background }
                    guard first <= last else { continue }
                    (minX, maxX) = (min(minX, first), max(maxX, last))
                    (minY, maxY) = (min(minY, y), max(maxY, y))
                }
                let reach = Int(Double(min(maxX - minX + 1, maxY - minY + 1)) * cornerFraction)
                func nearCorner(_ x: Int, _ y: Int) -> Bool {
                    (x - minX <= reach || maxX - x <= reach) && (y - minY <= reach || maxY - y <= reach)
                }
                // Two passes: from the top left, then from the bottom right. Each row first takes
                // its neighbour across rows, in one loop the compiler vectorizes. Then it takes its
                // neighbours along the row: d[x] = min over j of d[j] + |x - j|, in steps of 1, 2, 4,
                // ... places (`alongRow`) instead of one sequential scan; a distance of cap or more
                // changes nothing, so steps reaching cap - 1 places suffice. A device pixel on the
                // photo's border is 1 from the outside.
                var scratch = [UInt16](repeating: 0, count: width)
                scratch.withUnsafeMutableBufferPointer { scratch in
                    func alongRow(_ row: Int, backward: Bool) {
                        var step = 1
                        while step < Int(cap) && step < width {
                            let d = distance.baseAddress! + row, old = scratch.baseAddress!
                            old.update(from: d, count: width)
                            let add = UInt16(step)
                            if backward {
                                for x in 0..<(width &- step) { d[x] = min(old[x], old[x &+ step] &+ add) }
                            } else {
                                for x in step..<width { d[x] = min(old[x], old[x &- step] &+ add) }
                            }
                            step *= 2
                        }
                    }
                    for y in 0..<height {
                        let row = y * width
                        if y == 0 {  // above the photo is outside
                            for x in 0..<width { distance[x] = labels[x] == background ? 0 : 1 }
                        } else {
                            let above = row &- width
                            for x in 0..<width {
                                distance[row &+ x] = labels[row &+ x] == background ? 0 : min(cap, distance[above &+ x] &+ 1)
                            }
                        }
                        distance[row] = min(distance[row], 1)
                        alongRow(row, backward: false)
                    }
                    for y in stride(from: height - 1, through: 0, by: -1) {
                        let row = y * width
                        if y == height - 1 {  // below the photo is outside
                            for x in 0..<width { distance[row &+ x] = min(distance[row &+ x], 1) }
                        } else {
                            let below = row &+ width
                            for x in 0..<width {
                                distance[row &+ x] = min(distance[row &+ x], distance[below &+ x] &+ 1)
                            }
                        }
                        distance[row + width - 1] = min(distance[row + width - 1], 1)
                        alongRow(row, backward: true)
                    }
                }
                let edge = UInt16(clamping: edgeWidth)
                zones.withUnsafeMutableBufferPointer { zones in
                    for y in 0..<height {
                        let row = y &* width
                        let (first, last) = screen.map { screen in span(labels, row: row, width: width) { $0 == screen } }
                            ?? (width, -1)
                        for x in 0..<width {
                            let i = row &+ x
                            guard labels[i] != background else { continue }
                            if x >= first && x <= last {
                                zones[i] = Zone.screen.rawValue
                            } else if distance[i] <= edge {
                                zones[i] = nearCorner(x, y) ? Zone.corner.rawValue : Zone.edge.rawValue
                            } else {
                                zones[i] = Zone.body.rawValue
                            }
                        }
                    }
                }
            }
        }
        return zones
    }

    /// The first and last x in the row whose label passes `member`; first > last when none does.
    /// Scans in from both ends, so that a row's middle is not read.
    @inline(__always)
    private static func span(_ labels: UnsafeBufferPointer<UInt8>, row: Int, width: Int,
                             _ member: (UInt8) -> Bool) -> (first: Int, last: Int) {
        var first = 0
        while first < width && !member(labels[row &+ first]) { first &+= 1 }
        var last = width &- 1
        while last > first && !member(labels[row &+ last]) { last &-= 1 }
        return (first, last)
    }

    typealias Component = (pixels: [Int], box: BoundingBox)

    /// Whether `pixels` (indices in rows of `width`) spread more than `limit` times as far along
    /// their long axis as across it: the square root of the ratio of the two eigenvalues of their
    /// coordinates' covariance above `limit`. The sums are exact integers, and n^2 times the
    /// covariance goes to Double in the same steps as the experiment's `damages.is_elongated`,
    /// so that both decide alike at the limit. One pixel, or none, is not elongated.
    static func isElongated(_ pixels: [Int], width: Int, limit: Double) -> Bool {
        var (sx, sy, sxx, syy, sxy) = (Int64(0), Int64(0), Int64(0), Int64(0), Int64(0))
        for pixel in pixels {
            let (y, x) = pixel.quotientAndRemainder(dividingBy: width)
            let (x64, y64) = (Int64(x), Int64(y))
            sx += x64
            sy += y64
            sxx += x64 * x64
            syy += y64 * y64
            sxy += x64 * y64
        }
        let n = Int128(pixels.count)
        let a = Double(n * Int128(sxx) - Int128(sx) * Int128(sx))
        let b = Double(n * Int128(syy) - Int128(sy) * Int128(sy))
        let c = Double(n * Int128(sxy) - Int128(sx) * Int128(sy))
        let (half, mean) = ((a - b) / 2, (a + b) / 2)
        let root = (half * half + c * c).squareRoot()
        return mean + root > limit * limit * (mean - root)
    }

    /// 8-connected components of each label in `labels`, each list in scan order: one pass over
    /// the mask for all the damage classes. The labels in `merging` join each other: such a
    /// component goes to the label with the largest weight times pixels, the first on a tie.
    static func components(_ mask: Mask, labels: Set<UInt8>,
                           merging: [(label: UInt8, weight: Int)] = []) -> [UInt8: [Component]] {
        var isMember = [Bool](repeating: false, count: 256), isMerged = isMember
        for label in labels { isMember[Int(label)] = true }
        for (label, _) in merging where isMember[Int(label)] { isMerged[Int(label)] = true }
        var found: [UInt8: [Component]] = [:]
        flood(mask, seed: { isMember[Int($0)] }, joins: { $0 == $1 || (isMerged[Int($0)] && isMerged[Int($1)]) }) { label, component in
            guard isMerged[Int(label)] else { return found[label, default: []].append(component) }
            var pixels = [Int](repeating: 0, count: 256)
            mask.labels.withUnsafeBufferPointer { labels in
                for pixel in component.pixels { pixels[Int(labels[pixel])] &+= 1 }
            }
            var winner = label, best = -1
            for (candidate, weight) in merging where pixels[Int(candidate)] * weight > best {
                (winner, best) = (candidate, pixels[Int(candidate)] * weight)
            }
            found[winner, default: []].append(component)
        }
        return found
    }

    /// 8-connected components of the pixels whose label passes `member`, in scan order.
    static func components(_ mask: Mask, where member: (UInt8) -> Bool) -> [Component] {
        var found: [Component] = []
        flood(mask, seed: member, joins: { member($1) }) { _, component in found.append(component) }
        return found
    }

    /// Flood fill from each unseen pixel that passes `seed`, in scan order, over the 8 neighbours
    /// for which `joins(seed label, neighbour label)` holds; hands each component to `emit`.
    private static func flood(_ mask: Mask, seed: (UInt8) -> Bool, joins: (UInt8, UInt8) -> Bool,
                              emit: (UInt8, Component) -> Void) {
        let (width, height) = (mask.width, mask.height)
        var seen = [Bool](repeating: false, count: width * height)
        var stack: [Int] = []
        mask.labels.withUnsafeBufferPointer { labels in
            seen.withUnsafeMutableBufferPointer { seen in
                for start in 0..<(width * height) where !seen[start] && seed(labels[start]) {
                    let label = labels[start]
                    var pixels: [Int] = []
                    stack.append(start)
                    seen[start] = true
                    var (minX, minY, maxX, maxY) = (width, height, 0, 0)
                    while let pixel = stack.popLast() {
                        pixels.append(pixel)
                        let (y, x) = pixel.quotientAndRemainder(dividingBy: width)
                        (minX, minY, maxX, maxY) = (min(minX, x), min(minY, y), max(maxX, x), max(maxY, y))
                        for ny in max(0, y - 1)...min(height - 1, y + 1) {
                            for nx in max(0, x - 1)...min(width - 1, x + 1) {
                                let next = ny * width + nx
                                if !seen[next] && joins(label, labels[next]) {
                                    seen[next] = true
                                    stack.append(next)
                                }
                            }
                        }
                    }
                    emit(label, (pixels, BoundingBox(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1)))
                }
            }
        }
    }
}
