/// RFC 3339 `date-time` (section 5.6), checked field by field.
///
/// ```
/// date-time = full-date ("T" / "t") full-time          ; also "Z" / "z", RFC 3339 5.6 NOTE
/// full-date = YYYY "-" MM "-" DD                       ; year 0001-9999, a day the month has
/// full-time = hh ":" mm ":" ss ["." 1*DIGIT] ("Z" / ("+" / "-") hh ":" mm)
/// ```
/// Hours are 00-23, minutes 00-59, seconds 00-59, or 60 for a leap second, which exists only
/// as the last second of a UTC day (23:59:60Z, or that instant in another offset). Year 0000
/// is refused, as the JSON Schema format checker refuses it.
public struct RFC3339: Sendable, Hashable {
    public var year, month, day, hour, minute, second: Int
    /// The fractional second's digits, as written ("" when there are none).
    public var fraction: String
    /// The offset from UTC in minutes (0 for `Z`).
    public var offsetMinutes: Int

    /// Parses `text`; nil when it is not an RFC 3339 date-time or names an impossible instant.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        var position = 0
        func number(_ width: Int) -> Int? {
            guard position + width <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[position..<position + width] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            position += width
            return value
        }
        func expect(_ choices: String) -> Bool {
            guard position < bytes.count, choices.utf8.contains(bytes[position]) else { return false }
            position += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect("Tt"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
              let second = number(2) else { return nil }
        var fraction = ""
        if expect(".") {
            let start = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            guard position > start else { return nil }
            fraction = String(decoding: bytes[start..<position], as: UTF8.self)
        }
        var offset = 0
        if !expect("Zz") {
            guard position < bytes.count else { return nil }
            let sign = bytes[position] == UInt8(ascii: "-") ? -1 : 1
            guard expect("+-"), let offsetHour = number(2), expect(":"), let offsetMinute = number(2),
                  offsetHour <= 23, offsetMinute <= 59 else { return nil }
            offset = sign * (offsetHour * 60 + offsetMinute)
        }
        guard position == bytes.count,
              year >= 1, (1...12).contains(month), (1...Self.days(inMonth: month, year: year)).contains(day),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        if second == 60 {
            // A leap second ends a UTC day: the local time minus the offset must be 23:59.
            let utcMinute = ((hour * 60 + minute - offset) % 1440 + 1440) % 1440
            guard utcMinute == 23 * 60 + 59 else { return nil }
        }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
        self.fraction = fraction
        self.offsetMinutes = offset
    }

    /// Seconds since 1970-01-01T00:00:00Z (a leap second counts as the second before it).
    public var secondsSince1970: Double {
        // Days from the civil date, with March as the first month so that February comes last.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetMinutes * 60
        return Double(seconds) + (fraction.isEmpty ? 0 : Double("0." + fraction.prefix(9)) ?? 0)
    }

    /// True when `text` is an RFC 3339 date-time of a possible instant.
    public static func isValid(_ text: String) -> Bool { RFC3339(text) != nil }

    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
