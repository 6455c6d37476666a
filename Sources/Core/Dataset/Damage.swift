/// A pixel rectangle: the columns `x ..< x + width` and rows `y ..< y + height`.
public struct BoundingBox: Codable, Sendable, Hashable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// One located damage on one side of a phone, as the result reports it.
public struct Damage: Codable, Sendable, Hashable {
    public var side: Side
    /// The damage class, such as `crack`, `scratch` or `chip`.
    public var type: String
    /// The zone it lies in, such as `screen`, `body` or `edge`.
    public var zone: String
    public var bbox: BoundingBox
    public var areaPixels: Int
    /// Area as a fraction of the zone's area, from 0 to 1.
    public var zoneRatio: Double
    /// `minor`, `moderate` or `severe`.
    public var severity: String

    public init(side: Side, type: String, zone: String, bbox: BoundingBox, areaPixels: Int,
                zoneRatio: Double, severity: String) {
        self.side = side
        self.type = type
        self.zone = zone
        self.bbox = bbox
        self.areaPixels = areaPixels
        self.zoneRatio = zoneRatio
        self.severity = severity
    }

    enum CodingKeys: String, CodingKey {
        case side, type, zone, bbox, severity
        case areaPixels = "area_px"
        case zoneRatio = "zone_ratio"
    }
}

/// The grade a phone gets, with the rule that gave it.
public struct Grade: Codable, Sendable, Hashable {
    /// The grade's name, such as `A` or `C`.
    public var value: String
    /// The name of the first rule that matched.
    public var rule: String

    public init(value: String, rule: String) {
        self.value = value
        self.rule = rule
    }
}
