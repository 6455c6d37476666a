/// A header or argument value, with its AMQP field type kept, so that a message passed on
/// (to a retry or dead-letter queue) carries exactly the headers it came with.
public enum AMQPValue: Sendable, Hashable {
    case bool(Bool)
    case int8(Int8)
    case uint8(UInt8)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    /// A signed 64-bit integer (`l`), the type Gradeline writes its numbers as.
    case int(Int64)
    case uint64(UInt64)
    case float(Float)
    case double(Double)
    /// `value` × 10^-`scale`.
    case decimal(scale: UInt8, value: UInt32)
    /// A long string (`S`) that is valid UTF-8.
    case string(String)
    /// A long string (`S`) whose bytes are not valid UTF-8, kept byte for byte.
    case stringBytes([UInt8])
    /// A byte array (`x`), which may hold NUL.
    case bytes([UInt8])
    /// Seconds since the Unix epoch (`T`).
    case timestamp(UInt64)
    case table([String: AMQPValue])
    case array([AMQPValue])
    /// No value (`V`).
    case void

    /// The value as an integer, for headers that count (of any integer type, or a decimal string).
    public var integer: Int64? {
        switch self {
        case .int8(let value): Int64(value)
        case .uint8(let value): Int64(value)
        case .int16(let value): Int64(value)
        case .uint16(let value): Int64(value)
        case .int32(let value): Int64(value)
        case .uint32(let value): Int64(value)
        case .int(let value): value
        case .uint64(let value): Int64(exactly: value)
        case .string(let text): Int64(text)
        default: nil
        }
    }

    /// The value as text, when it is a string.
    public var text: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The bytes this value takes in an encoded field table, its type octet included.
    var encodedSize: Int {
        switch self {
        case .bool, .int8, .uint8: 2
        case .int16, .uint16: 3
        case .int32, .uint32, .float: 5
        case .int, .uint64, .double, .timestamp: 9
        case .decimal: 6
        case .string(let text): 5 + text.utf8.count
        case .stringBytes(let bytes), .bytes(let bytes): 5 + bytes.count
        case .table(let entries): 1 + AMQPValue.tableSize(entries)
        case .array(let values): 5 + values.reduce(0) { $0 + $1.encodedSize }
        case .void: 1
        }
    }

    /// The bytes a field table takes when encoded: its length prefix and every entry.
    public static func tableSize(_ entries: [String: AMQPValue]) -> Int {
        entries.reduce(4) { $0 + 1 + $1.key.utf8.count + $1.value.encodedSize }
    }
}
