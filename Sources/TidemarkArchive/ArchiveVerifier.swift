import Foundation

/// Rechecks an archive folder: every file of `SHA256SUMS` against its checksum, the manifest
/// against `SHA256SUMS`, and day files that neither lists.
public enum ArchiveVerifier {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var message: String
        public var description: String { "\(file): \(message)" }
    }

    public struct Report: Sendable {
        public var filesChecked = 0
        /// Events in the files whose checksum matched, per the manifest.
        public var events = 0
        public var problems: [Problem] = []
        public var isIntact: Bool { problems.isEmpty }
    }

    public static func verify(directory path: String, checked: (String, Bool) -> Void = { _, _ in }) throws(ArchiveError) -> Report {
        let sumsPath = path + "/" + ChecksumList.fileName
        guard FileManager.default.fileExists(atPath: sumsPath) else { throw .notAnArchive(path: path) }
        guard let sumsData = FileManager.default.contents(atPath: sumsPath) else { throw .cannotRead(path: sumsPath, reason: "not readable") }
        let (lines, malformed) = ChecksumList.parse(String(decoding: sumsData, as: UTF8.self))
        var report = Report()
        for line in malformed {
            report.problems.append(Problem(file: ChecksumList.fileName, message: "line \(line) is not '<sha256>  <file>'"))
        }

        var manifest: ArchiveManifest?
        do {
            let manifestPath = path + "/" + ArchiveManifest.fileName
            if let data = FileManager.default.contents(atPath: manifestPath) {
                manifest = try ArchiveManifest.decode(data, path: manifestPath)
            } else {
                report.problems.append(Problem(file: ArchiveManifest.fileName, message: "missing or unreadable"))
            }
        } catch {
            report.problems.append(Problem(file: ArchiveManifest.fileName, message: error.description))
        }
        let entries = Dictionary((manifest?.files ?? []).map { ($0.file, $0) }, uniquingKeysWith: { first, _ in first })

        for line in lines {
            let problemsBefore = report.problems.count
            report.filesChecked += 1
            do {
                let digest = try FileDigest.of(path: path + "/" + line.file)
                if digest.sha256 != line.sha256 {
                    report.problems.append(
                        Problem(file: line.file, message: "checksum mismatch: SHA256SUMS says \(line.sha256), file is \(digest.sha256)"))
                } else if let entry = entries[line.file] {
                    if entry.sha256 != line.sha256 {
                        report.problems.append(Problem(file: line.file, message: "manifest.json and SHA256SUMS name different checksums"))
                    } else if entry.bytes != digest.bytes {
                        report.problems.append(Problem(file: line.file, message: "\(digest.bytes) bytes, manifest.json says \(entry.bytes)"))
                    } else {
                        report.events += entry.events
                    }
                } else if manifest != nil {
                    report.problems.append(Problem(file: line.file, message: "listed in SHA256SUMS but not in manifest.json"))
                }
            } catch {
                report.problems.append(Problem(file: line.file, message: "missing or unreadable"))
            }
            checked(line.file, report.problems.count == problemsBefore)
        }

        let listed = Set(lines.map(\.file))
        for file in entries.keys.sorted() where !listed.contains(file) {
            report.problems.append(Problem(file: file, message: "in manifest.json but not in SHA256SUMS"))
        }
        let onDisk = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for file in onDisk.sorted() where file.hasPrefix("events-") && file.hasSuffix(".ndjson.gz") && !listed.contains(file) && entries[file] == nil
        {
            report.problems.append(Problem(file: file, message: "not listed in SHA256SUMS"))
        }
        return report
    }
}
