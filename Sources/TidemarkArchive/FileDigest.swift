import Crypto
import Foundation

/// A file's SHA-256 and size, read in chunks so a large file never sits in memory whole.
struct FileDigest: Sendable, Equatable {
    var sha256: String
    var bytes: Int

    static func of(path: String) throws(ArchiveError) -> FileDigest {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .cannotRead(path: path, reason: "no such file, or not readable")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var bytes = 0
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                bytes += chunk.count
            }
        } catch {
            throw .cannotRead(path: path, reason: "\(error)")
        }
        let hex = hasher.finalize().map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }
        return FileDigest(sha256: hex.joined(), bytes: bytes)
    }
}
