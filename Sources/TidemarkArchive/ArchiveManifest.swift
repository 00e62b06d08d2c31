import Foundation

/// One archived day: what `manifest.json` records per file.
public struct ArchiveEntry: Codable, Sendable, Equatable {
    public var day: String
    public var file: String
    public var events: Int
    public var minSeq: Int64
    public var maxSeq: Int64
    public var sha256: String
    public var bytes: Int
    /// When this file was (re)written, RFC 3339.
    public var archivedAt: String

    enum CodingKeys: String, CodingKey {
        case day, file, events, minSeq = "min_seq", maxSeq = "max_seq", sha256, bytes, archivedAt = "archived_at"
    }

    public static func fileName(of day: CalendarDay) -> String { "events-\(day.text).ndjson.gz" }
}

/// `manifest.json`: the archive's files, one per UTC day, oldest first.
public struct ArchiveManifest: Codable, Sendable, Equatable {
    public static let fileName = "manifest.json"
    public static let currentFormat = "tidemark-archive-1"

    public var format: String
    /// Every event that occurred before this day (UTC) was exported, as of its file's `archived_at`.
    public var before: String
    public var files: [ArchiveEntry]

    public init(before: CalendarDay, files: [ArchiveEntry] = []) {
        self.format = Self.currentFormat
        self.before = before.text
        self.files = files
    }

    public func entry(for day: CalendarDay) -> ArchiveEntry? {
        files.first { $0.day == day.text }
    }

    /// Adds or replaces the entry of its day, keeping days in order.
    public mutating func record(_ entry: ArchiveEntry) {
        files.removeAll { $0.day == entry.day }
        files.append(entry)
        files.sort { $0.day < $1.day }
    }

    /// Moves `before` forward only: the days of an earlier, later cutoff stay archived.
    public mutating func extend(before day: CalendarDay) {
        if day.text > before { before = day.text }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    public static func decode(_ data: Data, path: String) throws(ArchiveError) -> ArchiveManifest {
        let manifest: ArchiveManifest
        do {
            manifest = try JSONDecoder().decode(ArchiveManifest.self, from: data)
        } catch {
            throw .unreadableManifest(path: path, reason: "\(error)")
        }
        guard manifest.format == currentFormat else {
            throw .unreadableManifest(path: path, reason: "format '\(manifest.format)', expected '\(currentFormat)'")
        }
        return manifest
    }
}
