/// How one golden case came out: what was expected, what the pipeline said, and the counts the
/// set's figures add up. A report keeps every case's score, so that figures can be recomputed
/// over any subset (the quick gate compares its few cases with the same cases of a full report).
public struct CaseScore: Codable, Sendable, Hashable {
    public var id: String
    public var kind: String
    public var heldOut: Bool
    public var expectedStatus: String
    public var expectedGrade: String?
    public var expectedCode: String?
    public var status: String
    public var grade: String?
    /// Rejection codes, in the order the checks gave them.
    public var reasons: [String]
    public var error: String?
    public var damages: [DamageTally]
    public var pixels: [ClassPixels]
    public var milliseconds: Double

    /// Damage counts of one type on one side.
    public struct DamageTally: Codable, Sendable, Hashable {
        public var side: Side
        public var type: String
        /// Damages drawn, and how many of them a found damage overlaps.
        public var truth: Int
        public var recalled: Int
        /// Damages found, and how many of them overlap a drawn one.
        public var predicted: Int
        public var correct: Int
    }

    /// Pixel counts of one class over the case's label maps.
    public struct ClassPixels: Codable, Sendable, Hashable {
        public var name: String
        public var intersection: Int
        public var predicted: Int
        public var actual: Int
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, status, grade, reasons, error, damages, pixels, milliseconds
        case heldOut = "held_out"
        case expectedStatus = "expected_status"
        case expectedGrade = "expected_grade"
        case expectedCode = "expected_code"
    }

    /// Whether the result is what the truth asks for: the grade for a phone, the code for a
    /// must-reject photo.
    public var agrees: Bool {
        if expectedStatus == "rejected" { return status == "rejected" && reasons.contains(expectedCode ?? "") }
        return status == "graded" && grade == expectedGrade
    }
}

extension CaseScore {
    /// Scores `result` against `truth`. `masks` are the pipeline's photo-sized masks and
    /// `labels` the truth's label maps, per side; a side without both adds no pixel counts, and
    /// a mask of another size than its label map is an error.
    /// A found damage matches a drawn one of its type and side when their boxes overlap
    /// after the drawn box grows by `marginPixels` on each side.
    public init(truth: GoldenTruth, result: GradingResult, masks: Sided<Mask>, labels: Sided<Mask>,
                milliseconds: Double, marginPixels: Int = 8) throws(EvaluationError) {
        id = truth.id
        kind = truth.kind
        heldOut = truth.heldOut
        expectedStatus = truth.expected.status
        expectedGrade = truth.expected.grade
        expectedCode = truth.expected.code
        status = result.status
        grade = result.grade
        reasons = result.reasons.map(\.code)
        error = result.error.map { "\($0.code): \($0.message)" }
        self.milliseconds = milliseconds
        damages = Self.tally(truth: truth.damages, found: result.damages, margin: marginPixels)
        pixels = try Self.pixels(masks: masks, labels: labels, id: truth.id)
    }

    static func tally(truth: [GoldenTruth.Damage], found: [Damage], margin: Int) -> [DamageTally] {
        var keys = Set(truth.map { "\($0.side.rawValue).\($0.type)" })
        keys.formUnion(found.map { "\($0.side.rawValue).\($0.type)" })
        return keys.sorted().map { key in
            let drawn = truth.filter { "\($0.side.rawValue).\($0.type)" == key }
            let seen = found.filter { "\($0.side.rawValue).\($0.type)" == key }
            let grown = drawn.map { $0.bbox.grown(by: margin) }
            return DamageTally(
                side: drawn.first?.side ?? seen[0].side, type: drawn.first?.type ?? seen[0].type,
                truth: drawn.count,
                recalled: grown.filter { box in seen.contains { $0.bbox.overlaps(box) } }.count,
                predicted: seen.count,
                correct: seen.filter { damage in grown.contains { damage.bbox.overlaps($0) } }.count)
        }
    }

    static func pixels(masks: Sided<Mask>, labels: Sided<Mask>, id: String) throws(EvaluationError) -> [ClassPixels] {
        var counts = GoldenTruth.classes.map { ClassPixels(name: $0, intersection: 0, predicted: 0, actual: 0) }
        for side in labels.sides {
            guard let truth = labels[side], let mask = masks[side] else { continue }
            guard mask.width == truth.width, mask.height == truth.height else {
                throw EvaluationError("case \(id), \(side.rawValue): the mask is \(mask.width)x\(mask.height) but the label map is \(truth.width)x\(truth.height); was the photo's orientation applied?")
            }
            // The mask's own class names map onto the label map's order.
            let remap = mask.classes.map { GoldenTruth.classes.firstIndex(of: $0) ?? -1 }
            for index in 0..<truth.labels.count {
                let actual = Int(truth.labels[index])
                let predicted = Int(mask.labels[index]) < remap.count ? remap[Int(mask.labels[index])] : -1
                counts[actual].actual += 1
                if predicted >= 0 { counts[predicted].predicted += 1 }
                if predicted == actual { counts[actual].intersection += 1 }
            }
        }
        return counts
    }
}

extension BoundingBox {
    func grown(by margin: Int) -> BoundingBox {
        BoundingBox(x: x - margin, y: y - margin, width: width + 2 * margin, height: height + 2 * margin)
    }

    func overlaps(_ other: BoundingBox) -> Bool {
        x < other.x + other.width && other.x < x + width && y < other.y + other.height && other.y < y + height
    }
}
