import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The folder an archive is written to, locked against a second archive run for as long as
/// this value lives. Files are written under a hidden temporary name and renamed into place,
/// so a run killed at any moment leaves no partial file under a final name.
public final class ArchiveDirectory: Sendable {
    static let lockName = ".archive.lock"
    /// A prefix, not a suffix: `NDJSONWriter` compresses by the name's `.gz` ending.
    static let partialPrefix = ".partial-"

    public let path: String
    private let lockDescriptor: Int32

    /// Creates the folder if needed and takes its lock (without waiting).
    public init(path: String) throws(ArchiveError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .cannotCreateDirectory(path: path, reason: "it exists and is not a folder") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw .cannotCreateDirectory(path: path, reason: Self.reason(error))
            }
        }
        let lockPath = path + "/" + Self.lockName
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotWrite(path: lockPath, reason: String(cString: strerror(errno))) }
        // flock, not a PostgreSQL advisory lock: what must not be written twice at once is this folder.
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            close(descriptor)
            if failure == EWOULDBLOCK { throw .locked(path: path) }
            throw .cannotWrite(path: lockPath, reason: String(cString: strerror(failure)))
        }
        self.path = path
        self.lockDescriptor = descriptor
    }

    deinit {
        close(lockDescriptor)
    }

    public func path(of name: String) -> String { path + "/" + name }

    func temporaryPath(of name: String) -> String { path(of: Self.partialPrefix + name) }

    /// Removes the temporary files of a run that was killed; only called with the lock held.
    func removeLeftovers() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for name in names where name.hasPrefix(Self.partialPrefix) {
            try? FileManager.default.removeItem(atPath: path(of: name))
        }
    }

    /// The size of a file in the folder, nil if it is missing.
    func size(of name: String) -> Int? {
        ((try? FileManager.default.attributesOfItem(atPath: path(of: name)))?[.size] as? NSNumber)?.intValue
    }

    func readManifest() throws(ArchiveError) -> ArchiveManifest? {
        let manifestPath = path(of: ArchiveManifest.fileName)
        guard FileManager.default.fileExists(atPath: manifestPath) else { return nil }
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw .cannotRead(path: manifestPath, reason: "not readable")
        }
        return try ArchiveManifest.decode(data, path: manifestPath)
    }

    /// Writes the manifest and `SHA256SUMS` for it, each replaced whole.
    func write(_ manifest: ArchiveManifest) throws(ArchiveError) {
        let data: Data
        do {
            data = try manifest.encoded()
        } catch {
            throw .cannotWrite(path: path(of: ArchiveManifest.fileName), reason: "\(error)")
        }
        try replace(ArchiveManifest.fileName, with: data)
        try replace(ChecksumList.fileName, with: Data(ChecksumList.render(manifest.files).utf8))
    }

    /// Writes `data` under a temporary name, then renames it over `name`.
    func replace(_ name: String, with data: Data) throws(ArchiveError) {
        let temporary = temporaryPath(of: name)
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw .cannotWrite(path: temporary, reason: Self.reason(error))
        }
        try commit(temporary: temporary, as: name)
    }

    /// Makes a finished temporary file durable and gives it its final name, replacing any older file.
    func commit(temporary: String, as name: String) throws(ArchiveError) {
        let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotWrite(path: temporary, reason: String(cString: strerror(errno))) }
        // Without the fsync a power cut after the rename could leave an empty file under the final name.
        let synced = fsync(descriptor)
        close(descriptor)
        guard synced == 0 else { throw .cannotWrite(path: temporary, reason: String(cString: strerror(errno))) }
        guard rename(temporary, path(of: name)) == 0 else {
            throw .cannotWrite(path: path(of: name), reason: String(cString: strerror(errno)))
        }
        let folder = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            _ = fsync(folder)
            close(folder)
        }
    }

    private static func reason(_ error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let underlying, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return (error as NSError).localizedDescription
    }
}
