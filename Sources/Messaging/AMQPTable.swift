import CRabbitMQ

/// A header or argument value.
public enum AMQPValue: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case other
}

/// An AMQP field table built in C, for queue arguments and message headers.
///
/// - Important: Not thread-safe; build it, pass `view` to rabbitmq-c, and let it go.
final class AMQPTable {
    private let table: OpaquePointer

    init(_ values: [String: AMQPValue]) {
        table = crabbitmq_table_create()
        // Sorted, so that declares with the same arguments send the same bytes.
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            switch value {
            case .string(let text): _ = crabbitmq_table_add_string(table, key, text)
            case .int(let number): _ = crabbitmq_table_add_int64(table, key, number)
            case .bool(let flag): _ = crabbitmq_table_add_int64(table, key, flag ? 1 : 0)
            case .other: break
            }
        }
    }

    deinit { crabbitmq_table_destroy(table) }

    var view: amqp_table_t { crabbitmq_table_view(table) }

    /// Reads a table that rabbitmq-c decoded, such as a message's headers.
    static func read(_ table: amqp_table_t) -> [String: AMQPValue] {
        var values: [String: AMQPValue] = [:]
        for index in 0..<Int(table.num_entries) {
            let entry = table.entries[index]
            let value = entry.value
            switch Int(value.kind) {
            case Int(UInt8(ascii: "S")), Int(UInt8(ascii: "x")):
                values[string(entry.key)] = .string(string(value.value.bytes))
            case Int(UInt8(ascii: "l")): values[string(entry.key)] = .int(value.value.i64)
            case Int(UInt8(ascii: "L")): values[string(entry.key)] = .int(Int64(bitPattern: value.value.u64))
            case Int(UInt8(ascii: "I")): values[string(entry.key)] = .int(Int64(value.value.i32))
            case Int(UInt8(ascii: "i")): values[string(entry.key)] = .int(Int64(value.value.u32))
            case Int(UInt8(ascii: "s")): values[string(entry.key)] = .int(Int64(value.value.i16))
            case Int(UInt8(ascii: "b")): values[string(entry.key)] = .int(Int64(value.value.i8))
            case Int(UInt8(ascii: "B")): values[string(entry.key)] = .int(Int64(value.value.u8))
            case Int(UInt8(ascii: "t")): values[string(entry.key)] = .bool(value.value.boolean != 0)
            default: values[string(entry.key)] = .other
            }
        }
        return values
    }
}
