/// `SHA256SUMS` in the format `sha256sum -c` reads: `<64 hex digits><space><space><file name>`.
public enum ChecksumList {
    public static let fileName = "SHA256SUMS"

    public static func render(_ entries: [ArchiveEntry]) -> String {
        entries.sorted { $0.file < $1.file }.map { "\($0.sha256)  \($0.file)\n" }.joined()
    }

    public struct Line: Sendable, Equatable {
        public var sha256: String
        public var file: String

        public init(sha256: String, file: String) {
            self.sha256 = sha256
            self.file = file
        }
    }

    /// The lines read, and the numbers (from 1) of lines that are not checksum lines.
    public static func parse(_ text: String) -> (lines: [Line], malformed: [Int]) {
        var lines: [Line] = []
        var malformed: [Int] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !raw.isEmpty {
            let digest = raw.prefix(64)
            let rest = raw.dropFirst(64)
            // sha256sum writes " *" before the name for binary mode and "  " for text mode; both mean the same on Linux.
            guard digest.count == 64, digest.allSatisfy(\.isHexDigit), rest.hasPrefix("  ") || rest.hasPrefix(" *"), rest.count > 2 else {
                malformed.append(index + 1)
                continue
            }
            lines.append(Line(sha256: digest.lowercased(), file: String(rest.dropFirst(2))))
        }
        return (lines, malformed)
    }
}
