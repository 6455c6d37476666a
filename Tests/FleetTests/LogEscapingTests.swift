import Fleet
import Foundation
import Logging
import Synchronization
import Testing

/// A log handler that keeps what reaches it, for looking at.
struct RecordingLogHandler: LogHandler {
    final class Lines: Sendable {
        let events = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    let lines = Lines()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        lines.events.withLock { $0.append((event.message.description, merged)) }
    }
}

@Suite("Log lines escape control characters, so that input cannot forge a line")
struct LogEscapingTests {
    @Test("NUL, CR, LF, TAB, ESC and the line separator are escaped; other text is kept")
    func escapesControlCharacters() {
        typealias Handler = EscapingLogHandler<RecordingLogHandler>
        #expect(Handler.escape("job\nINFO forged") == "job\\nINFO forged")
        #expect(Handler.escape("a\r\tb\u{0}c") == "a\\r\\tb\\u{0}c")
        #expect(Handler.escape("\u{1B}[31mred") == "\\u{1B}[31mred")
        #expect(Handler.escape("x\u{2028}y\u{85}z\u{7F}") == "x\\u{2028}y\\u{85}z\\u{7F}")
        #expect(Handler.escape("plain é 😀 \\n") == "plain é 😀 \\n")
    }

    @Test("a message and metadata values with control characters reach the handler escaped")
    func escapesMessagesAndMetadata() throws {
        let recorder = RecordingLogHandler()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(recorder) }
        logger[metadataKey: "job.id"] = "j\n1"
        logger.error("job j\r\n2026-01-01 INFO forged \u{1B}[31m",
                     metadata: ["nested": ["list": ["a\nb"], "inner": .dictionary(["k": "\u{0}"])],
                                "described": .stringConvertible(42)])
        let (message, metadata) = try #require(recorder.lines.events.withLock { $0.first })
        #expect(message == "job j\\r\\n2026-01-01 INFO forged \\u{1B}[31m")
        #expect(metadata["job.id"] == "j\\n1")
        #expect(metadata["nested"] == ["list": ["a\\nb"], "inner": .dictionary(["k": "\\u{0}"])])
        #expect(metadata["described"] == "42")
    }
}
