import Foundation
import NIOCore
import TidemarkEvents
import TidemarkLoader
import TidemarkRawLog

/// Writes one day's events, in the order given, as gzip NDJSON under a temporary name; `finish`
/// renames the complete file into place and describes it for the manifest.
final class DayFileWriter {
    /// Events encoded per write: enough to keep the encoder busy, few enough to stay small.
    static let chunk = 1_000

    let day: CalendarDay
    let fileName: String
    private let directory: ArchiveDirectory
    private let temporary: String
    private let writer: NDJSONWriter
    private var pending: [Event] = []
    private var events = 0
    private var minSeq = Int64.max
    private var maxSeq = Int64.min

    init(day: CalendarDay, directory: ArchiveDirectory) throws(ArchiveError) {
        self.day = day
        self.directory = directory
        fileName = ArchiveEntry.fileName(of: day)
        temporary = directory.temporaryPath(of: fileName)
        do {
            writer = try NDJSONWriter(path: temporary)
        } catch {
            throw .cannotWrite(path: temporary, reason: "\(error)")
        }
        pending.reserveCapacity(Self.chunk)
    }

    func append(_ logged: LoggedEvent) throws {
        pending.append(logged.event)
        events += 1
        minSeq = min(minSeq, logged.seq)
        maxSeq = max(maxSeq, logged.seq)
        if pending.count >= Self.chunk { try flush() }
    }

    func finish(archivedAt: Timestamp) throws -> ArchiveEntry {
        try flush()
        do {
            try writer.close()
        } catch {
            throw ArchiveError.cannotWrite(path: temporary, reason: "\(error)")
        }
        let digest = try FileDigest.of(path: temporary)
        try directory.commit(temporary: temporary, as: fileName)
        return ArchiveEntry(
            day: day.text, file: fileName, events: events, minSeq: minSeq, maxSeq: maxSeq, sha256: digest.sha256, bytes: digest.bytes,
            archivedAt: archivedAt.rfc3339)
    }

    /// Gives up on the file: nothing is left under its final name, and the temporary one goes.
    func discard() {
        try? writer.close()
        try? FileManager.default.removeItem(atPath: temporary)
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        // The same encoder as `tidemark generate`, so each line is what POST /v1/events accepts.
        let lines = try Event.ndjson(pending)
        pending.removeAll(keepingCapacity: true)
        do {
            try writer.write(ByteBuffer(bytes: lines))
        } catch {
            throw ArchiveError.cannotWrite(path: temporary, reason: "\(error)")
        }
    }
}
