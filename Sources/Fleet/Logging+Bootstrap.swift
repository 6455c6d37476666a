import Foundation
import Logging

extension LoggingSystem {
    /// Sends every log line to standard error at GRADELINE_LOG_LEVEL (trace, debug, info, notice,
    /// warning, error, critical), or at `defaultLevel` when it is unset or not a level. Call once,
    /// at the start of a command.
    public static func bootstrapGradeline(defaultLevel: Logger.Level) {
        bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["GRADELINE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? defaultLevel
            return handler
        }
    }
}
