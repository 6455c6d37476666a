import Foundation

extension Job {
    /// A job made of image files, one per side, for local runs and for `gradeline-producer`.
    public static func fromFiles(_ files: [(side: Side, path: String)], jobID: String,
                                 kioskID: String, submittedAt: Date = Date()) throws -> Job {
        let photos = try files.map { side, path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw JobError(.noImages, field: "images", "cannot read the \(side.rawValue) image file '\(path)'")
            }
            let bytes = [UInt8](data)
            return Photo(side: side, contentType: contentType(of: bytes, path: path),
                         data: Base64.encode(bytes))
        }
        return Job(jobID: jobID, kioskID: kioskID, submittedAt: rfc3339(submittedAt), images: photos)
    }

    /// Parses `side=file`, as the command lines' `--side` takes it; nil when it is not that.
    public static func sideAndFile(_ text: String) -> (side: Side, path: String)? {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let side = Side(rawValue: parts[0]) else { return nil }
        return (side, parts[1])
    }

    /// The content type from the file's first bytes (the PNG signature, or JPEG's FF D8 FF),
    /// then its extension (.png, .jpg, .jpeg).
    public static func contentType(of bytes: [UInt8], path: String) -> String {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        default: return "application/octet-stream"
        }
    }

    /// `date` as RFC 3339 in UTC, such as `2026-11-28T07:19:26Z`.
    public static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
