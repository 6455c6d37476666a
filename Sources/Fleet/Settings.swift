import Core
import Foundation
import Yams

/// A mistake in a settings file, with where it is.
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// Reads a YAML settings file section by section, with typed values and errors that name the
/// file, line and key, like `config/worker.yaml:7:14: worker.concurrency must be an integer from 1 to 64`.
struct SettingsReader {
    let file: String
    private var root: [String: Node] = [:]
    private var marks: [String: Mark] = [:]
    private var read: Set<String> = []
    private(set) var problems: [String] = []

    init(file: String, text: String) {
        self.file = file
        do {
            guard let node = try Yams.compose(yaml: text) else { return }
            guard case .mapping = node else {
                problems.append("\(file): the top level must be a mapping of sections")
                return
            }
            flatten(node, prefix: "")
        } catch {
            problems.append("\(file): not valid YAML: \(error)")
        }
    }

    private mutating func flatten(_ node: Node, prefix: String) {
        guard case .mapping(let mapping) = node else {
            root[prefix] = node
            return
        }
        for (key, value) in mapping {
            let path = prefix.isEmpty ? (key.string ?? "") : "\(prefix).\(key.string ?? "")"
            if let mark = key.mark { marks[path] = mark }
            if case .mapping = value { flatten(value, prefix: path) } else { root[path] = value }
        }
    }

    private func place(_ path: String) -> String {
        guard let mark = marks[path] else { return file }
        return "\(file):\(mark.line):\(mark.column)"
    }

    mutating func int(_ path: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
        read.insert(path)
        guard let node = root[path] else { return fallback }
        guard let value = node.int, range.contains(value) else {
            problems.append("\(place(path)): \(path) must be an integer from \(range.lowerBound) to \(range.upperBound), not '\(node.string ?? "?")'")
            return fallback
        }
        return value
    }

    mutating func double(_ path: String, default fallback: Double, in range: ClosedRange<Double>) -> Double {
        read.insert(path)
        guard let node = root[path] else { return fallback }
        guard let value = node.float ?? node.int.map(Double.init), range.contains(value) else {
            problems.append("\(place(path)): \(path) must be a number from \(range.lowerBound) to \(range.upperBound), not '\(node.string ?? "?")'")
            return fallback
        }
        return value
    }

    mutating func string(_ path: String, default fallback: String) -> String {
        read.insert(path)
        guard let node = root[path] else { return fallback }
        guard case .scalar = node, let value = node.string, !value.isEmpty else {
            problems.append("\(place(path)): \(path) must be non-empty text")
            return fallback
        }
        return value
    }

    mutating func bool(_ path: String, default fallback: Bool) -> Bool {
        read.insert(path)
        guard let node = root[path] else { return fallback }
        guard let value = node.bool else {
            problems.append("\(place(path)): \(path) must be true or false, not '\(node.string ?? "?")'")
            return fallback
        }
        return value
    }

    mutating func strings(_ path: String, default fallback: [String]) -> [String] {
        read.insert(path)
        guard let node = root[path] else { return fallback }
        guard case .sequence(let items) = node, case let values = items.compactMap(\.string),
              values.count == items.count, !values.isEmpty, values.allSatisfy({ !$0.isEmpty }) else {
            problems.append("\(place(path)): \(path) must be a list of non-empty text")
            return fallback
        }
        return values
    }

    mutating func ints(_ path: String, default fallback: [Int], in range: ClosedRange<Int>) -> [Int] {
        read.insert(path)
        guard let node = root[path] else { return fallback }
        guard case .sequence(let items) = node,
              case let values = items.compactMap(\.int), values.count == items.count,
              values.allSatisfy(range.contains) else {
            problems.append("\(place(path)): \(path) must be a list of integers from \(range.lowerBound) to \(range.upperBound)")
            return fallback
        }
        return values
    }

    /// Records every key that no call read as unknown, with the nearest known key.
    mutating func finish() {
        for path in root.keys.sorted() where !read.contains(path) {
            let hint = Suggest.nearest(to: path, in: read).map { "; did you mean '\($0)'?" } ?? ""
            problems.append("\(place(path)): unknown setting '\(path)'\(hint)")
        }
    }
}

extension SettingsReader {
    /// Records a problem found by the caller.
    mutating func reject(_ message: String) {
        problems.append("\(file): \(message)")
    }
}
