import CRabbitMQ
import Foundation

/// An AMQP field table laid out in memory this object owns, for queue arguments and headers.
///
/// Every value keeps its AMQP type, nested tables and arrays included.
///
/// - Important: Not thread-safe; build it, pass `view` to rabbitmq-c, and let it go. The view
///   points into this object's memory and is valid only while the object lives.
final class AMQPTable {
    private var allocations: [UnsafeMutableRawPointer] = []
    private(set) var view = amqp_table_t(num_entries: 0, entries: nil)

    init(_ values: [String: AMQPValue]) {
        view = table(values)
    }

    deinit { allocations.forEach { free($0) } }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = malloc(max(1, count * MemoryLayout<T>.stride))!
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(1, count))
    }

    private func bytes(_ source: some Collection<UInt8>) -> amqp_bytes_t {
        let pointer = allocate(UInt8.self, count: source.count)
        _ = UnsafeMutableBufferPointer(start: pointer, count: source.count).initialize(from: source)
        return amqp_bytes_t(len: source.count, bytes: pointer)
    }

    private func table(_ values: [String: AMQPValue]) -> amqp_table_t {
        let entries = allocate(amqp_table_entry_t.self, count: values.count)
        // Sorted, so that declares with the same arguments send the same bytes.
        for (index, (key, value)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
            (entries + index).initialize(to: amqp_table_entry_t(key: bytes(key.utf8), value: field(value)))
        }
        return amqp_table_t(num_entries: Int32(values.count), entries: entries)
    }

    private func field(_ value: AMQPValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        func kind(_ character: Character) { field.kind = character.asciiValue! }
        switch value {
        case .bool(let flag): kind("t"); field.value.boolean = flag ? 1 : 0
        case .int8(let number): kind("b"); field.value.i8 = number
        case .uint8(let number): kind("B"); field.value.u8 = number
        case .int16(let number): kind("s"); field.value.i16 = number
        case .uint16(let number): kind("u"); field.value.u16 = number
        case .int32(let number): kind("I"); field.value.i32 = number
        case .uint32(let number): kind("i"); field.value.u32 = number
        case .int(let number): kind("l"); field.value.i64 = number
        case .uint64(let number): kind("L"); field.value.u64 = number
        case .float(let number): kind("f"); field.value.f32 = number
        case .double(let number): kind("d"); field.value.f64 = number
        case .decimal(let scale, let number): kind("D"); field.value.decimal = amqp_decimal_t(decimals: scale, value: number)
        case .string(let text): kind("S"); field.value.bytes = bytes(text.utf8)
        case .stringBytes(let raw): kind("S"); field.value.bytes = bytes(raw)
        case .bytes(let raw): kind("x"); field.value.bytes = bytes(raw)
        case .timestamp(let seconds): kind("T"); field.value.u64 = seconds
        case .table(let entries): kind("F"); field.value.table = table(entries)
        case .array(let values):
            kind("A")
            let items = allocate(amqp_field_value_t.self, count: values.count)
            for (index, item) in values.enumerated() { (items + index).initialize(to: self.field(item)) }
            field.value.array = amqp_array_t(num_entries: Int32(values.count), entries: items)
        case .void: kind("V")
        }
        return field
    }

    /// Reads a table that rabbitmq-c decoded, such as a message's headers, keeping every type.
    static func read(_ table: amqp_table_t) -> [String: AMQPValue] {
        var values: [String: AMQPValue] = [:]
        for index in 0..<Int(table.num_entries) {
            let entry = table.entries[index]
            values[string(entry.key)] = read(entry.value)
        }
        return values
    }

    private static func read(_ field: amqp_field_value_t) -> AMQPValue {
        let value = field.value
        switch Character(Unicode.Scalar(field.kind)) {
        case "t": return .bool(value.boolean != 0)
        case "b": return .int8(value.i8)
        case "B": return .uint8(value.u8)
        case "s": return .int16(value.i16)
        case "u": return .uint16(value.u16)
        case "I": return .int32(value.i32)
        case "i": return .uint32(value.u32)
        case "l": return .int(value.i64)
        case "L": return .uint64(value.u64)
        case "f": return .float(value.f32)
        case "d": return .double(value.f64)
        case "D": return .decimal(scale: value.decimal.decimals, value: value.decimal.value)
        case "S":
            let raw = array(value.bytes)
            return String(validating: raw, as: UTF8.self).map(AMQPValue.string) ?? .stringBytes(raw)
        case "x": return .bytes(array(value.bytes))
        case "T": return .timestamp(value.u64)
        case "F": return .table(read(value.table))
        case "A":
            let items = value.array
            return .array((0..<Int(items.num_entries)).map { read(items.entries[$0]) })
        default: return .void
        }
    }
}
