/// The side of a phone that one photo shows.
public enum Side: String, CaseIterable, Codable, Sendable, Hashable, Comparable {
    case front, back, left, right, top, bottom

    /// Sides order as listed here, so that batches and traces are stable.
    public static func < (lhs: Side, rhs: Side) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One value per side of a job, kept in a stable side order.
public struct Sided<Value: Sendable>: Sendable {
    /// The entries in side order.
    public private(set) var entries: [(side: Side, value: Value)]

    public init() { entries = [] }

    public init(_ pairs: [(Side, Value)]) {
        entries = []
        for (side, value) in pairs { self[side] = value }
    }

    public var sides: [Side] { entries.map(\.side) }
    public var values: [Value] { entries.map(\.value) }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public subscript(side: Side) -> Value? {
        get { entries.first { $0.side == side }?.value }
        set {
            if let index = entries.firstIndex(where: { $0.side == side }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                let insertAt = entries.firstIndex { side < $0.side } ?? entries.endIndex
                entries.insert((side, newValue), at: insertAt)
            }
        }
    }

    /// Transforms each value, passing its side so that errors can name it.
    public func map<T>(_ transform: (Side, Value) throws -> T) rethrows -> Sided<T> {
        var result = Sided<T>()
        result.entries = try entries.map { ($0.side, try transform($0.side, $0.value)) }
        return result
    }
}

extension Sided {
    /// A check's verdict: `check` adds the reasons it finds on each side, and the step is
    /// rejected with all of them, or ok when there are none.
    public func check(_ check: (Side, Value, inout [Reason]) throws -> Void) rethrows -> StepStatus {
        var reasons: [Reason] = []
        for (side, value) in entries { try check(side, value, &reasons) }
        return reasons.isEmpty ? .ok : .rejected(reasons)
    }
}
