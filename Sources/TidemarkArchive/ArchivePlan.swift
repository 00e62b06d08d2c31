/// The raw log's events of one UTC day, as counted when an archive run starts.
struct DayCount: Sendable, Equatable {
    var events: Int
    var minSeq: Int64
    var maxSeq: Int64
}

/// Which days an archive run (re)writes, from the database's counts and the manifest. The
/// raw log is append-only, so a day whose count and seq range match its manifest entry holds
/// exactly the events its file holds; a late event raises the count (and the max seq).
struct ArchivePlan {
    enum Reason: Sendable, Equatable, CustomStringConvertible {
        case new
        case lateEvents(Int)
        case renumbered
        case fileMissing
        case fileSizeDiffers

        var description: String {
            switch self {
            case .new: "not archived yet"
            case .lateEvents(let count): "\(count) late event\(count == 1 ? "" : "s") since it was archived"
            case .renumbered: "same count, other seqs (a restored database?)"
            case .fileMissing: "its file is missing"
            case .fileSizeDiffers: "its file's size differs from the manifest"
            }
        }
    }

    var toWrite: [(day: CalendarDay, reason: Reason)] = []
    var upToDate: [ArchiveEntry] = []
    /// Days before the cutoff that the archive holds and the database no longer does; kept as they are.
    var onlyInArchive: [String] = []

    init(counts: [CalendarDay: DayCount], manifest: ArchiveManifest, before: CalendarDay, directory: ArchiveDirectory) throws(ArchiveError) {
        for (day, count) in counts.sorted(by: { $0.key < $1.key }) {
            guard let entry = manifest.entry(for: day) else {
                toWrite.append((day, .new))
                continue
            }
            if entry.events > count.events {
                throw .archiveHoldsMoreEvents(file: directory.path(of: entry.file), archived: entry.events, inDatabase: count.events)
            }
            if entry.events < count.events {
                toWrite.append((day, .lateEvents(count.events - entry.events)))
            } else if entry.minSeq != count.minSeq || entry.maxSeq != count.maxSeq {
                toWrite.append((day, .renumbered))
            } else if let size = directory.size(of: entry.file) {
                if size == entry.bytes { upToDate.append(entry) } else { toWrite.append((day, .fileSizeDiffers)) }
            } else {
                toWrite.append((day, .fileMissing))
            }
        }
        onlyInArchive = manifest.files.map(\.day).filter { day in
            day < before.text && CalendarDay(text: day).map { counts[$0] == nil } ?? true
        }
    }
}
