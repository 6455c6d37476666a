/// A JSON reader (RFC 8259) for message bodies that refuses what Foundation's quietly accepts.
///
/// `JSONDecoder` keeps the last of two equal keys, and reports deep nesting and numbers out of
/// range as "not valid JSON" or as a type mismatch. This reader refuses a duplicate key and
/// names it, stops at `maxDepth` levels of arrays and objects and says so, and refuses a number
/// that no Double can hold. Every error carries the JSON path where it was found.
public enum StrictJSON {
    /// Arrays and objects nest at most this deep; the top-level value is level 1.
    public static let defaultMaxDepth = 64

    /// Why a body is not acceptable JSON, and where.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// Not JSON at all: the reason says what was found instead.
            case syntax
            /// A key appears twice in one object.
            case duplicateKey
            /// Arrays and objects nest deeper than the limit.
            case tooDeep
            /// A number that no Double can hold, such as 1e999999.
            case numberOutOfRange
        }

        public var kind: Kind
        /// The JSON path of the value at fault, such as `images[1].side`, or "" for the top level.
        public var path: String
        public var reason: String

        public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
    }

    /// Parses one JSON value that fills all of `bytes` (whitespace aside).
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(Failure) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(Failure) -> JSONValue in
            var reader = Reader(bytes: buffer, maxDepth: maxDepth)
            reader.skipWhitespace()
            let value = try reader.value(depth: 1)
            reader.skipWhitespace()
            guard reader.position == buffer.count else {
                throw reader.syntax("unexpected \(reader.found()) after the JSON value")
            }
            return value
        }
    }

    private enum PathElement {
        case key(String)
        case index(Int)
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxDepth: Int
        var position = 0
        var path: [PathElement] = []

        init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        var pathText: String {
            path.reduce(into: "") { text, element in
                switch element {
                case .index(let index): text += "[\(index)]"
                case .key(let key):
                    let key = Echo.clip(key, maxBytes: 64)
                    text += text.isEmpty ? key : ".\(key)"
                }
            }
        }

        func failure(_ kind: Failure.Kind, _ reason: String) -> Failure {
            Failure(kind: kind, path: pathText, reason: reason)
        }

        /// A syntax error at the current byte, with its line and column.
        func syntax(_ reason: String) -> Failure {
            var line = 1, column = 1
            for byte in bytes[0..<min(position, bytes.count)] {
                if byte == 0x0A { line += 1; column = 1 } else { column += 1 }
            }
            return failure(.syntax, "not valid JSON: \(reason) at byte \(position) (line \(line), column \(column))")
        }

        /// What is at the current position, for syntax errors.
        func found() -> String {
            guard position < bytes.count else { return "end of input" }
            let byte = bytes[position]
            if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
            return "byte 0x\(String(byte, radix: 16, uppercase: true))"
        }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(Failure) -> JSONValue {
            guard position < bytes.count else { throw syntax("expected a value but found the end of input") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw syntax("expected a value but found \(found())")
            }
        }

        mutating func enter(depth: Int) throws(Failure) {
            guard depth <= maxDepth else {
                throw failure(.tooDeep, "arrays and objects nest more than \(maxDepth) levels deep; the limit is \(maxDepth)")
            }
        }

        mutating func object(depth: Int) throws(Failure) -> JSONValue {
            try enter(depth: depth)
            position += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw syntax("expected a key in quotes but found \(found())")
                }
                let key = try string()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                    throw syntax("expected ':' after a key but found \(found())")
                }
                position += 1
                skipWhitespace()
                path.append(.key(key))
                guard members[key] == nil else {
                    throw failure(.duplicateKey, "appears twice in the same object; a key may appear only once")
                }
                members[key] = try value(depth: depth + 1)
                path.removeLast()
                skipWhitespace()
                guard position < bytes.count else { throw syntax("expected ',' or '}' but found the end of input") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                throw syntax("expected ',' or '}' but found \(found())")
            }
        }

        mutating func array(depth: Int) throws(Failure) -> JSONValue {
            try enter(depth: depth)
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                path.append(.index(elements.count))
                elements.append(try value(depth: depth + 1))
                path.removeLast()
                skipWhitespace()
                guard position < bytes.count else { throw syntax("expected ',' or ']' but found the end of input") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
                throw syntax("expected ',' or ']' but found \(found())")
            }
        }

        mutating func literal(_ word: StaticString) throws(Failure) {
            let count = word.utf8CodeUnitCount
            let matches = position + count <= bytes.count && (0..<count).allSatisfy {
                bytes[position + $0] == word.utf8Start[$0]
            }
            guard matches else { throw syntax("expected a value but found \(found())") }
            position += count
        }

        mutating func number() throws(Failure) -> JSONValue {
            let start = position
            func digits() -> Int {
                let first = position
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
                return position - first
            }
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) else {
                throw syntax("expected a digit but found \(found())")
            }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                _ = digits()
            }
            var integral = true
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                integral = false
                position += 1
                guard digits() > 0 else { throw syntax("expected a digit after '.' but found \(found())") }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                integral = false
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                    position += 1
                }
                guard digits() > 0 else { throw syntax("expected a digit in the exponent but found \(found())") }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            if integral, let value = Int(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else {
                throw failure(.numberOutOfRange, "the number \(Echo.clip(text, maxBytes: 40)) is out of range; numbers must fit a 64-bit float")
            }
            return .double(value)
        }

        /// Whether the 16 bytes at `offset` hold no quote, no backslash and no control character:
        /// two 8-byte words tested a whole word at a time. `(w - n * ones) & ~w` has a top bit set
        /// when some byte of w is below n (n <= 0x80; the lowest such byte sets its own, and no
        /// byte of 0x80 or more sets one); a byte equal to c is a zero byte of `w ^ (c * ones)`.
        private func ordinary16(at offset: Int) -> Bool {
            let ones: UInt64 = 0x0101_0101_0101_0101, tops: UInt64 = 0x8080_8080_8080_8080
            func ordinary(_ w: UInt64) -> Bool {
                let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
                let below = (w &- ones &* 0x20) & ~w
                let zeroQuote = (quote &- ones) & ~quote, zeroBackslash = (backslash &- ones) & ~backslash
                return (below | zeroQuote | zeroBackslash) & tops == 0
            }
            let base = UnsafeRawPointer(bytes.baseAddress! + offset)
            return ordinary(base.loadUnaligned(as: UInt64.self)) && ordinary(base.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }

        mutating func string() throws(Failure) -> String {
            position += 1
            let start = position
            // The common case, no escapes: one scan, then one UTF-8 check. An image's base64 is
            // most of a job's bytes, so the scan passes 16 ordinary bytes at a time.
            while position < bytes.count {
                if position + 16 <= bytes.count, ordinary16(at: position) {
                    position += 16
                    continue
                }
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                    guard let text = String(validating: slice, as: UTF8.self) else {
                        throw syntax("a string is not valid UTF-8")
                    }
                    position += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                guard byte >= 0x20 else { throw syntax("a control character (byte 0x\(String(byte, radix: 16))) must be escaped inside a string") }
                position += 1
            }
            var utf8 = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: utf8, as: UTF8.self) else {
                        throw syntax("a string is not valid UTF-8")
                    }
                    position += 1
                    return text
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.count else { break }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                                  bytes[position + 1] == UInt8(ascii: "u") else {
                                throw syntax("a \\u escape of a high surrogate is not followed by a low one")
                            }
                            position += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else {
                                throw syntax("a \\u escape of a high surrogate is not followed by a low one")
                            }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let value = Unicode.Scalar(scalar) else {
                            throw syntax("a \\u escape is a lone low surrogate")
                        }
                        utf8.append(contentsOf: Array(String(Character(value)).utf8))
                    default:
                        position -= 1
                        throw syntax("'\\' is followed by \(found()), which is not an escape")
                    }
                default:
                    guard byte >= 0x20 else { throw syntax("a control character (byte 0x\(String(byte, radix: 16))) must be escaped inside a string") }
                    utf8.append(byte)
                    position += 1
                }
            }
            throw syntax("a string is not closed")
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            guard position + 4 <= bytes.count else { throw syntax("a \\u escape needs four hex digits") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = Character(Unicode.Scalar(bytes[position])).hexDigitValue else {
                    throw syntax("a \\u escape needs four hex digits but has \(found())")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }
    }
}
