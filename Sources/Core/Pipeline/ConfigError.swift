/// One problem in a pipeline config, with where it is and, for typos, the nearest valid name.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based line and column in the file, when known.
    public var line: Int?
    public var column: Int?
    public var pipeline: String?
    /// 1-based index of the step within its pipeline.
    public var step: Int?
    public var function: String?
    public var message: String
    /// The nearest valid name, for a typo.
    public var suggestion: String?

    public init(file: String, line: Int? = nil, column: Int? = nil, pipeline: String? = nil,
                step: Int? = nil, function: String? = nil, message: String,
                suggestion: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.pipeline = pipeline
        self.step = step
        self.function = function
        self.message = message
        self.suggestion = suggestion
    }

    /// `file:line:column: pipeline 'p', step 2 (resize): message; did you mean 'x'?`
    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": "
        if let pipeline {
            text += "pipeline '\(pipeline)'"
            if let step {
                text += ", step \(step)"
                if let function { text += " (\(function))" }
            }
            text += ": "
        }
        text += message
        if let suggestion { text += "; did you mean '\(suggestion)'?" }
        return text
    }
}

/// A pipeline config that failed validation. It lists every problem found, not only the first.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) { self.issues = issues }

    public var description: String {
        let noun = issues.count == 1 ? "problem" : "problems"
        return "\(issues.count) \(noun) in the config:\n"
            + issues.map { "  " + $0.description }.joined(separator: "\n")
    }
}

/// Finds the closest name to a typo.
public enum Suggest {
    /// The candidate nearest to `name` by edit distance, if it is near enough to be a typo.
    public static func nearest<S: Sequence>(to name: String, in candidates: S) -> String?
    where S.Element == String {
        let limit = max(2, name.count / 3)
        var best: (name: String, distance: Int)?
        for candidate in candidates.sorted() {  // sorted, so that ties resolve the same way each run
            let distance = editDistance(name.lowercased(), candidate.lowercased())
            if distance <= limit, distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.name
    }

    /// Levenshtein distance, counting a swap of two neighbours as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var best = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    best = min(best, table[i - 2][j - 2] + 1)
                }
                table[i][j] = best
            }
        }
        return table[a.count][b.count]
    }
}
