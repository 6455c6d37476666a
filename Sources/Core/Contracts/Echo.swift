/// Input values quoted back in error messages, cut short so that a huge field (a 50 MB
/// `content_type`, say) never travels whole into a result, a log line or a dead-letter header.
public enum Echo {
    /// How many UTF-8 bytes of an input value an error message quotes.
    public static let defaultMaxBytes = 200

    /// `text` if it fits in `maxBytes` UTF-8 bytes; else its longest prefix of whole Unicode
    /// scalars that fits, followed by "…".
    public static func clip(_ text: String, maxBytes: Int = defaultMaxBytes) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            let size = UTF8.width(scalar)
            guard bytes + size <= maxBytes else { break }
            kept.append(scalar)
            bytes += size
        }
        return String(kept) + "…"
    }
}
