import Yams

/// Reads one step's params from the config, typed and checked, and remembers every value used.
///
/// Problems are recorded rather than thrown, so that one load reports every mistake in the
/// file. After a problem the reader returns a harmless fallback; the step is discarded anyway.
public struct ParamReader {
    /// A problem found while reading, located by the YAML mark where it is.
    struct Problem {
        var message: String
        var mark: Mark?
        var suggestion: String?
    }

    private var nodes: [String: (node: Node, keyMark: Mark?)] = [:]
    private var keyOrder: [String] = []
    private var consumed: Set<String> = []
    let stepMark: Mark?
    var problems: [Problem] = []
    /// Every param with the value used, defaults included: what the trace and fingerprint show.
    public private(set) var resolved: [String: JSONValue] = [:]

    init(mapping: Node.Mapping?, stepMark: Mark?) {
        self.stepMark = stepMark
        for (key, value) in mapping ?? [:] {
            guard let name = key.string else {
                problems.append(Problem(message: "a param name must be text", mark: key.mark))
                continue
            }
            nodes[name] = (value, key.mark)
            keyOrder.append(name)
        }
    }

    /// Removes a key that the framework itself handles (such as `in` and `out`).
    mutating func take(_ key: String) -> Node? {
        consumed.insert(key)
        return nodes[key]?.node
    }

    /// An integer param, optionally bounded.
    public mutating func int(_ key: String, default fallback: Int? = nil,
                             in range: ClosedRange<Int>? = nil) -> Int {
        let expected = range.map { "an integer from \($0.lowerBound) to \($0.upperBound)" } ?? "an integer"
        let value = read(key, default: fallback, expected: expected, json: JSONValue.int) { node in
            guard let value = node.int else { return nil }
            if let range, !range.contains(value) { return nil }
            return value
        }
        return value ?? fallback ?? range?.lowerBound ?? 0
    }

    /// A number param, optionally bounded.
    public mutating func double(_ key: String, default fallback: Double? = nil,
                                in range: ClosedRange<Double>? = nil) -> Double {
        let expected = range.map { "a number from \($0.lowerBound) to \($0.upperBound)" } ?? "a number"
        let value = read(key, default: fallback, expected: expected, json: JSONValue.double) { node in
            guard let value = Self.number(node), value.isFinite else { return nil }
            if let range, !range.contains(value) { return nil }
            return value
        }
        return value ?? fallback ?? range?.lowerBound ?? 0
    }

    /// A true/false param.
    public mutating func bool(_ key: String, default fallback: Bool? = nil) -> Bool {
        read(key, default: fallback, expected: "true or false", json: JSONValue.bool) { $0.bool }
            ?? fallback ?? false
    }

    /// A text param.
    public mutating func string(_ key: String, default fallback: String? = nil) -> String {
        read(key, default: fallback, expected: "text", json: JSONValue.string) { node in
            if case .scalar = node { return node.string }
            return nil
        } ?? fallback ?? ""
    }

    /// One of a fixed set of names, such as a resize filter.
    public mutating func choice<Choice>(_ key: String, default fallback: Choice? = nil) -> Choice
    where Choice: CaseIterable & RawRepresentable, Choice.RawValue == String {
        let names = Choice.allCases.map(\.rawValue)
        let expected = "one of " + names.map { "'\($0)'" }.joined(separator: ", ")
        let value = read(key, default: fallback, expected: expected, json: { .string($0.rawValue) },
                         suggestFrom: names) { node in
            node.string.flatMap(Choice.init(rawValue:))
        }
        return value ?? fallback ?? Choice.allCases.first!
    }

    /// A list of numbers, optionally of a fixed length.
    public mutating func doubles(_ key: String, count: Int? = nil,
                                 default fallback: [Double]? = nil) -> [Double] {
        let expected = count.map { "a list of \($0) numbers" } ?? "a list of numbers"
        let value = read(key, default: fallback, expected: expected,
                         json: { .array($0.map(JSONValue.double)) }) { node in
            guard case .sequence(let items) = node else { return nil }
            let values = items.compactMap(Self.number)
            guard values.count == items.count, values.allSatisfy(\.isFinite) else { return nil }
            if let count, values.count != count { return nil }
            return values
        }
        return value ?? fallback ?? [Double](repeating: 1, count: count ?? 1)
    }

    /// A list of text values.
    public mutating func strings(_ key: String, default fallback: [String]? = nil) -> [String] {
        read(key, default: fallback, expected: "a list of text values",
             json: { .array($0.map(JSONValue.string)) }) { node in
            guard case .sequence(let items) = node else { return nil }
            let values = items.compactMap { item -> String? in
                if case .scalar = item { return item.string }
                return nil
            }
            return values.count == items.count ? values : nil
        } ?? fallback ?? []
    }

    /// A mapping of names to integers, each optionally bounded, such as a limit per damage type.
    /// A bad entry is named, at its own line.
    public mutating func intsByName(_ key: String, default fallback: [String: Int]? = nil,
                                    in range: ClosedRange<Int>? = nil) -> [String: Int] {
        let each = range.map { "integers from \($0.lowerBound) to \($0.upperBound)" } ?? "integers"
        return byName(key, default: fallback, each: each, json: JSONValue.int) { value in
            value.int.flatMap { range?.contains($0) ?? true ? $0 : nil }
        }
    }

    /// A mapping of names to text values, such as a damage type per damage type. A bad entry is
    /// named, at its own line.
    public mutating func stringsByName(_ key: String, default fallback: [String: String]? = nil) -> [String: String] {
        byName(key, default: fallback, each: "text values", json: JSONValue.string) { value in
            if case .scalar = value { return value.string }
            return nil
        }
    }

    /// A mapping of names to values that `parse` reads (nil for a bad one), `each` describing them.
    private mutating func byName<T>(_ key: String, default fallback: [String: T]?, each: String,
                                    json: @escaping (T) -> JSONValue, parse: (Node) -> T?) -> [String: T] {
        if case .mapping(let mapping)? = nodes[key]?.node {
            var seen: Set<String> = []
            for (name, value) in mapping {
                var problem: String?
                if case .scalar = name, let text = name.string {
                    if !seen.insert(text).inserted {
                        problem = "'\(text)' is given twice"
                    } else if parse(value) == nil {
                        let shown = value.string.map { "'\($0)'" } ?? Self.describe(value)
                        problem = "'\(text)' must be one of \(each), not \(shown)"
                    }
                } else {
                    problem = "a name must be text, not \(Self.describe(name))"
                }
                if let problem {
                    problems.append(Problem(message: "param '\(key)': \(problem)", mark: value.mark))
                    consumed.insert(key)
                    resolved[key] = .null
                    return fallback ?? [:]
                }
            }
        }
        return read(key, default: fallback, expected: "a mapping of names to \(each)",
                    json: { .object($0.mapValues(json)) }) { node in
            guard case .mapping(let mapping) = node else { return nil }
            // Every entry was checked above: text names, each once, with values `parse` reads.
            return Dictionary(uniqueKeysWithValues: mapping.compactMap { name, value in
                name.string.flatMap { name in parse(value).map { (name, $0) } }
            })
        } ?? fallback ?? [:]
    }

    /// Records a value derived from params (a file's hash, say), for the trace and fingerprint.
    public mutating func record(_ key: String, _ value: JSONValue) {
        resolved[key] = value
        consumed.insert(key)
    }

    /// Records a problem with the value of `key`, such as two params that contradict each other.
    public mutating func reject(_ key: String, _ message: String) {
        problems.append(Problem(message: "param '\(key)': \(message)",
                                mark: nodes[key]?.node.mark ?? stepMark))
    }

    /// Records a problem with the step as a whole.
    public mutating func reject(_ message: String) {
        problems.append(Problem(message: message, mark: stepMark))
    }

    /// Records every param that no `int`, `string`, ... call read, as unknown.
    mutating func finish() {
        let known = Set(resolved.keys).union(consumed)
        for key in keyOrder where !known.contains(key) {
            problems.append(Problem(message: "unknown param '\(key)'", mark: nodes[key]?.keyMark,
                                    suggestion: Suggest.nearest(to: key, in: resolved.keys)))
        }
    }

    private mutating func read<T>(_ key: String, default fallback: T?, expected: String,
                                  json: (T) -> JSONValue, suggestFrom names: [String] = [],
                                  parse: (Node) -> T?) -> T? {
        guard let (node, _) = nodes[key] else {
            if let fallback {
                resolved[key] = json(fallback)
                return fallback
            }
            resolved[key] = .null
            problems.append(Problem(message: "missing param '\(key)' (\(expected))", mark: stepMark))
            return nil
        }
        guard let value = parse(node) else {
            resolved[key] = .null
            let shown = node.string.map { "'\($0)'" } ?? Self.describe(node)
            problems.append(Problem(
                message: "param '\(key)' must be \(expected), not \(shown)", mark: node.mark,
                suggestion: node.string.flatMap { Suggest.nearest(to: $0, in: names) }))
            return nil
        }
        resolved[key] = json(value)
        return value
    }

    private static func number(_ node: Node) -> Double? {
        if let int = node.int { return Double(int) }
        return node.float
    }

    private static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence(let items): "a list of \(items.count)"
        case .scalar, .alias: "that value"
        }
    }
}
