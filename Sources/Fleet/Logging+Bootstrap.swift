import Foundation
import Logging

extension LoggingSystem {
    /// Sends every log line to standard error at GRADELINE_LOG_LEVEL (trace, debug, info, notice,
    /// warning, error, critical), or at `defaultLevel` when it is unset or not a level. Call once,
    /// at the start of a command. Control characters in messages and metadata are escaped
    /// (see `EscapingLogHandler`), so that a job id cannot forge a log line.
    public static func bootstrapGradeline(defaultLevel: Logger.Level) {
        bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["GRADELINE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? defaultLevel
            return EscapingLogHandler(handler)
        }
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
