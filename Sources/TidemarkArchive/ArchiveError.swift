/// Why an archive could not be written or read, in words that name the day or path at fault.
public enum ArchiveError: Error, Sendable, CustomStringConvertible {
    case badCutoff(String, reason: String?)
    case cannotCreateDirectory(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case cannotRead(path: String, reason: String)
    case locked(path: String)
    case unreadableManifest(path: String, reason: String)
    case notAnArchive(path: String)
    /// The database holds fewer events for a day than its file: rewriting would lose events.
    case archiveHoldsMoreEvents(file: String, archived: Int, inDatabase: Int)

    public var description: String {
        switch self {
        case .badCutoff(let text, let reason):
            "--before takes a UTC calendar day such as 2026-11-01, or a number of days before today such as 30d; got '\(text)'"
                + (reason.map { " (\($0))" } ?? "")
        case .cannotCreateDirectory(let path, let reason): "cannot create the archive folder \(path): \(reason)"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        case .cannotRead(let path, let reason): "cannot read \(path): \(reason)"
        case .locked(let path): "another tidemark archive is writing to \(path) (it holds \(path)/\(ArchiveDirectory.lockName))"
        case .unreadableManifest(let path, let reason):
            "\(path) is not a Tidemark archive manifest (\(reason)); move it away to archive into this folder afresh"
        case .notAnArchive(let path): "\(path) is not a Tidemark archive: it has no \(ChecksumList.fileName)"
        case .archiveHoldsMoreEvents(let file, let archived, let inDatabase):
            "\(file) holds \(archived) events but the database only \(inDatabase) for that day; refusing to overwrite it "
                + "(is this the archive of another database?)"
        }
    }

    public var isLocked: Bool {
        if case .locked = self { return true }
        return false
    }
}
