import Foundation
import Logging

extension LoggingSystem {
    /// Sends every log line to standard error at GRADELINE_LOG_LEVEL (trace, debug, info, notice,
    /// warning, error, critical), or at `defaultLevel` when it is unset or not a level. Call once,
    /// at the start of a command. Control characters in messages and metadata are escaped
    /// (see `EscapingLogHandler`), so that a job id cannot forge a log line.
    ///
    /// With GRADELINE_LOG_FORMAT=json each line is one JSON object instead (`JSONLogHandler`).
    public static func bootstrapGradeline(defaultLevel: Logger.Level) {
        let environment = ProcessInfo.processInfo.environment
        let level = environment["GRADELINE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
        if environment["GRADELINE_LOG_FORMAT"] == "json" {
            bootstrap { label in
                var handler = JSONLogHandler(label: label, write: JSONLogHandler.standardError)
                handler.logLevel = level
                return handler
            }
            return
        }
        bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return EscapingLogHandler(handler)
        }
    }
}

/// One JSON object per log line, for log collectors: `time` (RFC 3339, UTC, milliseconds),
/// `level`, `message`, `label`, then every metadata key (the handler's, the provider's, the
/// call's; nested metadata become objects and arrays), and `error` when one is attached.
///
/// JSON escaping keeps each entry on one line whatever a job id holds. Nothing here adds
/// credentials or image bytes: URLs are logged through `AMQPURL`, which masks the password,
/// and job bodies are never logged.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    /// Writes a line to standard error in one call, so that lines from threads do not interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in _ = Foundation.write(2, buffer.baseAddress, buffer.count) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let given = event.metadata { merged.merge(given) { $1 } }
        if let error = event.error { merged["error"] = .string("\(error)") }
        var line = "{\"time\":\(Self.quote(Self.timestamp()))"
        line += ",\"level\":\(Self.quote(event.level.rawValue))"
        line += ",\"message\":\(Self.quote(event.message.description))"
        line += ",\"label\":\(Self.quote(label))"
        for key in merged.keys.sorted() where !["time", "level", "message", "label"].contains(key) {
            line += ",\(Self.quote(key)):\(Self.json(merged[key]!))"
        }
        write(line + "}")
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): quote(text)
        case .stringConvertible(let item): quote(item.description)
        case .array(let values): "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let metadata):
            "{" + metadata.keys.sorted().map { "\(quote($0)):\(json(metadata[$0]!))" }.joined(separator: ",") + "}"
        @unknown default: quote("\(value)")
        }
    }

    /// A JSON string literal: quotes, backslashes, control characters and the two Unicode line
    /// separators escaped.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.tv_nsec / 1_000_000))
    }
}

/// A log handler that escapes control characters in every message, metadata key and value,
/// then hands the line to `upstream`.
///
/// Job ids and other input reach the log; a `\n`, `\r` or `ESC[31m` in them would otherwise
/// start a forged line or recolour the terminal. They become `\n`, `\r` and `\u{1B}[31m`.
public struct EscapingLogHandler<Upstream: LogHandler>: LogHandler {
    public var upstream: Upstream
    /// Kept here rather than in `upstream`, so that what it adds is escaped too.
    public var metadataProvider: Logger.MetadataProvider?

    public init(_ upstream: Upstream) {
        self.upstream = upstream
        metadataProvider = upstream.metadataProvider
        if metadataProvider != nil { self.upstream.metadataProvider = nil }
    }

    public var logLevel: Logger.Level {
        get { upstream.logLevel }
        set { upstream.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { upstream.metadata }
        set { upstream.metadata = Self.escape(newValue) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { upstream[metadataKey: Self.escape(key)] }
        set { upstream[metadataKey: Self.escape(key)] = newValue.map(Self.escape) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: Self.escape(event.message.description))
        var metadata = metadataProvider?.get() ?? [:]
        if let given = event.metadata { metadata.merge(given) { _, new in new } }
        if let error = event.error {
            metadata["error"] = .string("\(error)")
            event.error = nil
        }
        event.metadata = metadata.isEmpty ? nil : Self.escape(metadata)
        upstream.log(event: event)
    }

    /// `text` with each control character (Unicode general category Cc, and the line and
    /// paragraph separators) written as an escape: `\n`, `\r`, `\t`, else `\u{XX}`. A
    /// backslash stays as it is.
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where needsEscape(scalar): escaped += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    static func escape(_ metadata: Logger.Metadata) -> Logger.Metadata {
        Dictionary(metadata.map { (escape($0.key), escape($0.value)) }, uniquingKeysWith: { _, new in new })
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(escape(text))
        case .stringConvertible(let item): .string(escape(item.description))
        case .dictionary(let metadata): .dictionary(escape(metadata))
        case .array(let values): .array(values.map(escape))
        @unknown default: .string(escape("\(value)"))
        }
    }
}
